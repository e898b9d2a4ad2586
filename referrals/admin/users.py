"""Admin: users and groups, for superusers only.

A staff user who could change users could make anyone, themselves included, a superuser or
give them any permission, and would see every organization's people: the organization scope
of the rest of the admin would mean nothing.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from referrals.admin.helpers import SuperusersOnlyAdmin

User = get_user_model()

# Imported above, django.contrib.auth's admin has registered them already.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class SuperusersUserAdmin(SuperusersOnlyAdmin, UserAdmin):
    pass


@admin.register(Group)
class SuperusersGroupAdmin(SuperusersOnlyAdmin, GroupAdmin):
    pass
