from django.db import models
from django.db.models import Q

from contacts.models import Contact


class CardName(models.Model):
    """The file name a CardDAV client chose for a card it uploaded (DAVx5 names new cards
    ``<its own uuid>.vcf``; vdirsyncer after the card's UID), and the UID it gave the card.

    Every other contact is served at ``<contact id>.vcf`` with UID = its id. A client keeps
    using the name it chose (GET, PUT, DELETE, and sync-collection lists the card under it), so
    this small table is all CardDAV adds to the book: the contact itself lives in contacts.

    A name whose upload turned out to be a number the book already held is *retired*: the
    upload became the older contact (older wins), and ``version`` (taken from the contact feed
    in the same transaction) is when sync-collection reports the name as deleted (404), so the
    phone drops its copy and keeps the existing contact's card.
    """

    name = models.CharField(max_length=255, primary_key=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    uid = models.CharField(max_length=255, blank=True, default="")
    retired = models.BooleanField(default=False)
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact"], condition=Q(retired=False), name="cardname_one_live_name"
            )
        ]
        indexes = [
            models.Index(fields=["version"], condition=Q(retired=True), name="cardname_retired_idx")
        ]

    def __str__(self):
        return self.name
