from django.http import Http404
from django.shortcuts import render


def home(request):
    return render(request, "web/home.html")


def visit_status(request, token):
    raise Http404
