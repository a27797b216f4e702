from django.conf import settings
from django.db import models


class Item(models.Model):
    """Something a person keeps on the resource server."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
