from django.http import QueryDict

from calls.filters import CallFilter
from contacts.filters import ContactFilter, ContactSearchFilter


def test_each_filter_set_gets_its_own_filters_bound_to_itself(db):
    first = ContactFilter(QueryDict("search=ann"))
    second = ContactFilter(QueryDict("search=bob"))
    for name in ContactFilter.base_filters:
        assert first.filters[name] is not second.filters[name]
        assert first.filters[name] is not ContactFilter.base_filters[name]
        assert first.filters[name].parent is first and second.filters[name].parent is second
    # A method filter calls the method of its own filter set.
    assert first.filters["search"].filter.f is first.filters["search"]
    assert getattr(ContactFilter.base_filters["search"], "parent", None) is None


def test_the_form_class_is_built_once_per_filter_set_class(db):
    one, two = CallFilter(QueryDict("direction=incoming")), CallFilter(QueryDict("direction=bad"))
    assert type(one.form) is type(two.form)
    assert one.is_valid() and not two.is_valid()  # separate forms, separate data
    assert one.form.fields["direction"] is not two.form.fields["direction"]
    # A subclass with another filter has its own form class.
    search = ContactSearchFilter(QueryDict("q=x"))
    assert "q" in search.form.fields and "q" not in ContactFilter(QueryDict("")).form.fields
