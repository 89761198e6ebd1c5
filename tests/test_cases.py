"""The public campaign pages: content, counters, filters, fallbacks."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.cases import services
from app.cases.models import ActionCounter
from app.extensions import db
from tests.factories import add_update, make_case


def _commit():
    db.session.commit()


def test_home_shows_active_cases_successes_and_the_running_total(client):
    make_case(slug="ana", person_name="Ana Example", prior_actions=1200)
    make_case(slug="freed", person_name="Bo Freed", status="success", prior_actions=300000)
    make_case(slug="hidden", person_name="Hidden Draft", published=False, prior_actions=5)
    _commit()
    body = client.get("/en/").get_data(as_text=True)
    assert "Ana Example" in body and "Bo Freed" in body
    assert "Hidden Draft" not in body
    assert "301,200" in body  # the unpublished case does not count


def test_running_total_is_formatted_for_the_locale(client):
    make_case(slug="ana", prior_actions=777611)
    _commit()
    assert "777,611" in client.get("/en/").get_data(as_text=True)
    french = client.get("/fr/").get_data(as_text=True)
    assert "777\u202f611" in french or "777\u00a0611" in french


def test_case_page_shows_the_story_targets_timeline_and_counters(client):
    case = make_case(
        slug="ana",
        person_name="Ana Example",
        goal=1000,
        targets=[{"name": "Office of the Prosecutor", "title": "Attorney General", "addresses": ["ag@example.org"]}],
    )
    add_update(case, date(2025, 3, 10), "arrest", {"en": "Arrested at a peaceful protest."})
    add_update(case, date(2025, 6, 1), "sentence", {"en": "Sentenced to three years."}, precision="month")
    for _ in range(3):
        services.record_action(case.id, "appeal")
    services.record_action(case.id, "solidarity", 2)
    _commit()

    body = client.get("/en/cases/ana/").get_data(as_text=True)
    assert "Ana Example" in body
    assert "Story of case" in body and "Second paragraph." in body
    assert "Release them now." in body
    assert "Attorney General" in body and "ag@example.org" not in body  # addresses are never shown
    assert "Arrested at a peaceful protest." in body
    assert "March 10, 2025" in body and "June 2025" in body
    assert '<progress max="1000" value="5"' in body
    assert "Write an appeal" in body or 'id="act"' in body


def test_counters_are_read_from_a_few_rows_not_counted_per_letter(app):
    case = make_case(slug="ana")
    for _ in range(50):
        services.record_action(case.id, "appeal")
    _commit()
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(ActionCounter))
    assert rows <= services.COUNTER_SHARDS
    assert services.totals_for([case.id])[case.id].appeals == 50


def test_unknown_counter_kind_is_refused(app):
    case = make_case()
    try:
        services.record_action(case.id, "likes")
    except ValueError as error:
        assert "likes" in str(error)
    else:
        raise AssertionError("an unknown counter kind was accepted")


def test_missing_translation_falls_back_to_english_marked_with_its_language(client):
    make_case(
        slug="ana",
        content={
            "en": {"headline": "Student leader", "story": "English story.", "ask": "Free her."},
            "fr": {"headline": "Dirigeante étudiante", "story": "", "ask": "Libérez-la."},
        },
    )
    _commit()
    body = client.get("/fr/cases/ana/").get_data(as_text=True)
    assert "Dirigeante étudiante" in body
    assert "Libérez-la." in body
    assert '<div class="prose" lang="en" dir="auto">' in body
    assert "English story." in body


def test_case_list_filters_by_status_and_country(client):
    make_case(slug="pt-active", person_name="Active Portugal", country="PT")
    make_case(slug="mx-active", person_name="Active Mexico", country="MX")
    make_case(slug="mx-freed", person_name="Freed Mexico", country="MX", status="success")
    _commit()

    everything = client.get("/en/cases/").get_data(as_text=True)
    assert all(n in everything for n in ("Active Portugal", "Active Mexico", "Freed Mexico"))

    active_mx = client.get("/en/cases/?status=active&country=MX").get_data(as_text=True)
    assert "Active Mexico" in active_mx
    assert "Active Portugal" not in active_mx and "Freed Mexico" not in active_mx

    successes = client.get("/en/cases/?status=success").get_data(as_text=True)
    assert "Freed Mexico" in successes and "Active Mexico" not in successes
    assert "1 case" in successes

    nothing = client.get("/en/cases/?country=FR").get_data(as_text=True)
    assert "No case matches these filters." in nothing


def test_case_list_ignores_an_unknown_status(client):
    make_case(slug="ana", person_name="Ana Example")
    _commit()
    response = client.get("/en/cases/?status=<script>")
    assert response.status_code == 200
    assert "Ana Example" in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)


def test_country_names_are_localised(client):
    make_case(slug="mx", country="MX")
    _commit()
    assert "Mexico" in client.get("/en/cases/mx/").get_data(as_text=True)
    assert "Mexique" in client.get("/fr/cases/mx/").get_data(as_text=True)
    assert "México" in client.get("/es/cases/mx/").get_data(as_text=True)
    assert "المكسيك" in client.get("/ar/cases/mx/").get_data(as_text=True)


def test_success_stories_page_lists_only_the_freed(client):
    make_case(slug="freed", person_name="Bo Freed", status="success", content={"en": {"outcome": "Freed in 2021."}})
    make_case(slug="ana", person_name="Ana Example")
    _commit()
    body = client.get("/en/success-stories/").get_data(as_text=True)
    assert "Bo Freed" in body and "Freed in 2021." in body
    assert "Ana Example" not in body


def test_unknown_and_unpublished_cases_are_not_found(client):
    make_case(slug="draft", published=False)
    _commit()
    assert client.get("/en/cases/no-such-person/").status_code == 404
    assert client.get("/en/cases/draft/").status_code == 404


def test_case_page_is_accessible_in_structure(client):
    make_case(slug="ana")
    _commit()
    body = client.get("/en/cases/ana/").get_data(as_text=True)
    assert 'class="skip-link" href="#main"' in body
    assert '<main id="main"' in body
    assert body.count("<h1") == 1
    assert 'aria-label="Language"' in body
