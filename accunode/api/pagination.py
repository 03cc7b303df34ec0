"""Page-number pagination of API.md: ``?page=N&page_size=M`` (default 25, max 200)."""

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200
