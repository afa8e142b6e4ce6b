def strip_trailing_slashes(result, generator, request, public):
    """Routes accept an optional trailing slash; the contract writes paths without one."""
    result["paths"] = {
        (path.rstrip("/") if path != "/" else path): item for path, item in result["paths"].items()
    }
    return result
