from django.urls import path

from scheduling import calendar_views, flow_views, override_views, rearrange_views, views

app_name = "scheduling"
urlpatterns = [
    path("patients/<uuid:patient_id>/book/", views.book, name="book"),
    path(
        "patients/<uuid:patient_id>/book/outside-hours/",
        override_views.book_outside_hours,
        name="book-outside-hours",
    ),
    path("book/", calendar_views.book_from_calendar, name="book-from-calendar"),
    path("day/", views.day, name="day"),
    path("week/", calendar_views.week, name="week"),
    path("board/", flow_views.board, name="board"),
    path("re-arrange/", rearrange_views.rearrange, name="rearrange"),
    # accounts/lifetime.py lists this path: the board's polling never renews the session.
    path("board/rows", flow_views.board_rows, name="board-rows"),
    path("appointments/<uuid:appointment_id>/step/", views.step, name="step"),
    path("appointments/<uuid:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<uuid:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path(
        "appointments/<uuid:appointment_id>/reschedule/outside-hours/",
        override_views.reschedule_outside_hours,
        name="reschedule-outside-hours",
    ),
]
