import factory
from factory.django import DjangoModelFactory

from accounts.models import Role, User

PASSWORD = "correct-horse-battery-staple-42"


class UserFactory(DjangoModelFactory[User]):
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    role = Role.AGENT
    password = factory.django.Password(PASSWORD)

    class Meta:
        model = User
        skip_postgeneration_save = True
