from django.urls import path

from .views import availability, planner_days, proposals, public, staff

app_name = "web"

urlpatterns = [
    path("", public.home, name="home"),
    path("visits/request/", public.visit_request, name="visit-request"),
    path("visits/request/sent/", public.visit_request_sent, name="visit-request-sent"),
    path("visits/status/<str:token>/", public.visit_status, name="visit-status"),
    path("visits/status/<str:token>/cancel/", public.visit_cancel, name="visit-cancel"),
    path("visits/status/<str:token>/other-dates/", public.visit_reschedule, name="visit-reschedule"),
    path("staff/login/", staff.LoginView.as_view(), name="login"),
    path("staff/logout/", staff.LogoutView.as_view(), name="logout"),
    path("staff/", staff.staff_home, name="staff-home"),
    path("staff/visits/<int:pk>/", staff.visit_detail, name="staff-visit"),
    path("staff/visits/<int:pk>/confirm/", staff.visit_confirm, name="staff-visit-confirm"),
    path("staff/visits/<int:pk>/decline/", staff.visit_decline, name="staff-visit-decline"),
    path("staff/visits/<int:pk>/proposal/", proposals.proposal_page, name="staff-visit-proposal"),
    path("staff/visits/<int:pk>/proposal/new/", proposals.proposal_create, name="staff-visit-proposal-create"),
    path("staff/visits/<int:pk>/proposal/<int:proposal_id>/accept/", proposals.proposal_accept,
         name="staff-visit-proposal-accept"),
    path("staff/visits/<int:pk>/proposal/<int:proposal_id>/resolve/", proposals.proposal_resolve,
         name="staff-visit-proposal-resolve"),
    path("staff/visits/<int:pk>/proposal/<int:proposal_id>/repair/", proposals.proposal_repair,
         name="staff-visit-proposal-repair"),
    path("staff/visits/<int:pk>/proposal/<int:proposal_id>/items/<int:item_id>/", proposals.proposal_item,
         name="staff-visit-proposal-item"),
    path("staff/rooms/<int:pk>/day/<str:day>/", planner_days.room_day, name="staff-room-day"),
    path("staff/people/<int:pk>/day/<str:day>/", planner_days.person_day, name="staff-person-day"),
    path("staff/my-meetings/", staff.my_meetings, name="my-meetings"),
    path("staff/my-meetings/<int:pk>/rsvp/", staff.rsvp, name="rsvp"),
    path("staff/my-meetings/rotate-feed/", staff.rotate_feed, name="rotate-feed"),
    path("staff/availability/", availability.my_availability, name="my-availability"),
    path("staff/availability/hours/", availability.save_hours, name="my-hours"),
    path("staff/availability/exceptions/", availability.add_exception, name="my-exception-add"),
    path("staff/availability/exceptions/<str:day>/remove/", availability.remove_exception, name="my-exception-remove"),
    path("staff/availability/absences/", availability.add_absence, name="my-absence-add"),
    path("staff/availability/absences/<int:pk>/remove/", availability.remove_absence, name="my-absence-remove"),
    path("staff/availability/calendars/", availability.add_calendar, name="my-calendar-add"),
    path("staff/availability/calendars/<int:pk>/<str:action>/", availability.calendar_action,
         name="my-calendar-action"),
]
