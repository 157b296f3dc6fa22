from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from careline.api.api import api, api_not_found

urlpatterns = [
    path("", include("careline.web.urls")),
    path("customers/", include("careline.customers.urls")),
    path("imports/", include("careline.imports.urls")),
    path("leads/", include("careline.sales.urls")),
    path("f/", include("careline.sales.public_urls")),
    path("activities/", include("careline.activities.urls")),
    path("kpis/", include("careline.kpis.urls")),
    path("helpdesk/recurring/", include("careline.helpdesk.cluster_urls")),
    path("helpdesk/", include("careline.helpdesk.urls")),
    path("surveys/", include("careline.surveys.urls")),
    path("s/", include("careline.surveys.public_urls")),
    path("accounts/", include("careline.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),  # API clients always get a JSON error, never an HTML page
]

if settings.DEBUG:  # pragma: no cover
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
