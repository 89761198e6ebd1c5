"""Dashboard figures and delivery steering, through the services the admin pages call."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from app.cases import services as cases
from app.dashboard import charts
from app.dashboard import services as dashboard
from app.extensions import db
from app.mail import outbox, queue, watch
from app.mail.compose import Email
from app.mail.models import OutboundMessage
from app.models_base import utcnow
from tests.factories import make_case
from tests.test_exports import appeal


def test_figures_per_case_day_country_and_confirmation_rate(app):
    case = make_case(slug="ana", prior_actions=10)
    today = utcnow().date()
    noon = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    appeal(case, 1, when=noon)
    appeal(case, 2, when=noon, country="MX")
    appeal(case, 3, when=noon - timedelta(days=2))
    appeal(case, 4, state="unconfirmed")
    appeal(case, 5, state="expired")
    cases.record_action(case.id, "appeal", 3)
    db.session.commit()

    [figures] = dashboard.actions_per_case()
    assert figures.totals.appeals == 3 and figures.totals.actions == 13
    days = dashboard.appeals_per_day(days=3, today=today)
    assert days == [(today - timedelta(days=2), 1), (today - timedelta(days=1), 0), (today, 2)]
    assert dashboard.appeals_per_country() == [("FR", 2), ("MX", 1)]
    rate = dashboard.confirmation_rate()
    assert (rate.confirmed, rate.waiting, rate.expired) == (3, 1, 1)
    assert rate.rate == 0.75


def test_bar_chart_is_accessible_svg_without_inline_style():
    svg = str(charts.bar_chart([(date(2026, 12, d).isoformat(), d) for d in range(1, 11)], "Appeals <per> day"))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert '<title id="chart-title">Appeals &lt;per&gt; day</title>' in svg
    assert svg.count("<rect") == 10 and "style=" not in svg


def _failed_message(case, address, reply="550 no such user"):
    row = outbox.enqueue(
        Email(subject="s", text="t"), kind="appeal", recipient=address.email, target_address_id=address.id
    )
    row.state, row.last_reply, row.attempts = "failed", reply, 3
    return row


def test_retry_failed_for_one_message_or_a_whole_target_and_pause(app):
    case = make_case(slug="ana")
    address = case.targets[0].addresses[0]
    first, second = _failed_message(case, address), _failed_message(case, address)
    db.session.commit()

    [overview] = dashboard_overview = watch.delivery_by_target()
    assert overview.counts["failed"] == 2 and dashboard_overview
    assert [m.id for m in watch.failed_messages()] == [second.id, first.id]

    assert watch.retry_failed(message_id=first.id) == 1
    assert watch.retry_failed(target_id=case.targets[0].id) == 1
    db.session.commit()
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboundMessage)).all()
    assert {(m.state, m.attempts) for m in rows} == {("retry", 0)}
    assert {m.message_id for m in rows} == {first.message_id, second.message_id}  # same Message-ID kept

    cases.set_target_paused(case.targets[0].id, True)
    db.session.commit()
    assert queue.claim_due_messages(10, timedelta(minutes=5)) == []
    cases.set_target_paused(case.targets[0].id, False)
    db.session.commit()
    assert len(queue.claim_due_messages(10, timedelta(minutes=5))) == 2
    assert watch.throughput() == 0


def test_the_dashboard_shows_the_campaign_total_and_the_moderation_backlog_with_its_age(app, client):
    from app.staff import services as accounts
    from tests.factories import STAFF_PASSWORD, make_hope, sign_in

    first, second = make_case(slug="ana", prior_actions=5), make_case(slug="ben")
    cases.record_action(first.id, "appeal", 3)
    cases.record_action(second.id, "offline", 40)
    make_hope(first, created_at=utcnow() - timedelta(hours=3))
    make_hope(first)
    make_hope(second, state="approved")
    accounts.create_user("admin@inkwell.example.org", STAFF_PASSWORD, "admin")
    db.session.commit()

    backlog = dashboard.moderation_backlog()
    assert backlog["messages"].waiting == 2 and backlog["paper_reports"].waiting == 0
    assert timedelta(hours=2, minutes=59) < backlog["messages"].age() < timedelta(hours=3, minutes=5)
    assert dashboard.moderation_backlog(cap=1)["messages"].more_than_cap
    total = dashboard.campaign_totals(dashboard.actions_per_case())
    assert (total.appeals, total.offline, total.actions) == (3, 40, 48)

    sign_in(client, email="admin@inkwell.example.org")
    page = client.get("/admin/dashboard").get_data(as_text=True)
    assert "Moderation backlog" in page and "3 hours" in page
    assert '<th scope="row">All cases</th><td>3</td><td>0</td><td>40</td><td>48</td>' in page
