"""No request a stranger (or a careless admin) can send makes the site answer 5xx.

The walk covers every rule in `app.url_map`: each path variable filled with real values (from the demo campaign and
a few rows made through the public forms) and with hostile ones, each query and form parameter given hostile values
(NUL, 25-digit integers, CR/LF, invalid UTF-8 escapes, 100 KB, a file part, repeated keys, bodies that are not
forms), by GET and by POST where the rule allows, as an anonymous visitor and as a signed-in admin, on both databases.

The parameters come from the application itself: the fields of every form its pages render (with the page's own
values as the realistic ones), the query names of its search forms and links, and every name the code reads from
`request.args` / `request.form`. Every parameter gets each hostile value at once; where the visitor reaches the
view's own work (the public pages for the visitor, the staff pages for the admin), each parameter the view reads or
its forms carry also gets them alone, the others realistic, so that one refused first cannot hide another.
"""

from __future__ import annotations

import inspect
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import HTTPException

from app.extensions import db
from tests.factories import sign_in

APP_DIR = Path(__file__).resolve().parent.parent / "app"

# Hostile values, already percent-encoded (so that invalid UTF-8 can be written). A request line of 100 KB is refused
# by the servers in front of the app (gunicorn's limit is 4,094 bytes), so URLs get 8 KB values and one 100 KB query;
# forms get 100 KB.
HOSTILE = {
    "nul": "x%00y",
    "huge_int": "9" * 25,
    "int64_overflow": "9223372036854775808",
    "crlf": "a%0D%0Ab%0D%0A%0D%0A",
    "bad_utf8": "%FF%FE%C3%28",
    "long": "a" * 8_000,
    "negative": "-1",
    "bad_escape": "%zz%",
    "empty": "",
}
HOSTILE_FORM = {**HOSTILE, "long": "a" * 100_000}
# Sent one parameter at a time (the others go in the requests that send every parameter at once).
EACH = ("nul", "huge_int", "crlf", "bad_utf8", "long")
EACH_FIELD = ("nul", "huge_int", "crlf", "bad_utf8")  # 100 KB goes to every field at once
# In a path, an empty segment or a bare `%` is a different URL altogether, not a value.
HOSTILE_PATH = {k: v for k, v in HOSTILE.items() if k not in ("empty", "bad_escape")}

# Plausible values for form fields that a page renders empty (so that a hostile value in one field reaches the
# services, not only the validators).
REALISTIC = {
    "name": "Jane Doe",
    "first_name": "Jane",
    "email": "jane@example.net",
    "country": "FR",
    "message": "You are not alone. We think of you.",
    "letter": "Dear Minister,\n\nPlease release her.\n\nYours sincerely,",
    "password": "correct horse battery staple",
    "reason": "Off topic.",
    "letters": "12",
    "event_name": "School assembly",
    "event_date": "2026-11-20",
    "organiser_name": "Sam",
    "organiser_email": "sam@example.net",
    "place": "Lyon",
    "slug": "new-case",
    "person_name": "New Person",
    "text": "Released today.",
    "happened_on": "2026-11-01",
    "address": "office@example.org",
    "addresses": "office@example.org",
    "max_per_hour": "60",
    "goal": "1000",
}

# Admin actions that end the session or delete what later requests use: walked last.
DESTRUCTIVE = ("logout", "remove", "purge", "erase")


class FormCollector(HTMLParser):
    """The forms of a page: method, action and (name, value) pairs, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_value: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "?" in (attrs.get("href") or ""):
            self.links.append(attrs["href"])
        if tag == "form":
            self.forms.append(
                {"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action"), "fields": []}
            )
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if not any(n == name for n, _ in fields):
                    fields.append((name, attrs.get("value") or "y"))
            elif kind not in ("submit", "button", "image", "reset"):
                fields.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = name
            fields.append((name, ""))
        elif tag == "select" and name:
            self._select, self._select_value = name, None
        elif tag == "option" and self._select and self._select_value is None:
            value = attrs.get("value")
            if value:
                self._select_value = value
        elif tag == "button" and name:
            fields.append((name, attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select and self.forms:
            self.forms[-1]["fields"].append((self._select, self._select_value or ""))
            self._select = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            fields = self.forms[-1]["fields"]
            name, value = fields[-1]
            fields[-1] = (name, value + data)


READS = re.compile(r"(?:request\.(?:args|form|values)\.(?:get|getlist)|page_key)\(\s*[\"']([^\"']+)[\"']")


def names_read_by(view) -> set[str]:
    """The query and form names a view reads, in its own source or in its module's helpers that it calls."""
    view = inspect.unwrap(view)
    source = inspect.getsource(view)
    names = set(READS.findall(source))
    module = inspect.getmodule(view)
    for name, helper in vars(module).items():
        if inspect.isfunction(helper) and helper.__module__ == module.__name__ and re.search(rf"\b{name}\(", source):
            names |= set(READS.findall(inspect.getsource(helper)))
    return names


def names_read_anywhere() -> set[str]:
    return {name for path in APP_DIR.rglob("*.py") for name in READS.findall(path.read_text(encoding="utf-8"))}


@dataclass
class Walk:
    app: object
    client: object
    real_values: dict[str, list[str]]
    real_by_endpoint: dict[tuple[str, str], str]
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def send(self, method: str, path: str, query: str = "", **kwargs) -> int:
        self.requests += 1
        url = path + ("?" + query if query else "")
        try:
            response = self.client.open(path, method=method, query_string=query, **kwargs)
        except Exception as error:  # an exception escaping the error pages is a 500 for the visitor
            self.failures.append(f"{method} {url[:160]}: raised {type(error).__name__}: {str(error)[:200]}")
            return 500
        status = response.status_code
        response.get_data()  # read as a browser would (a streamed body runs as it is read)
        response.close()
        if status >= 500:
            self.failures.append(f"{method} {url[:160]} {describe(kwargs)}: {status}")
        return status


def describe(kwargs: dict) -> str:
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        return f"body={data[:120]!r}"
    if isinstance(data, dict):
        return f"multipart fields={sorted(data)[:8]}"
    return ""


VARIABLE = re.compile(r"<(?:[^>]*:)?(\w+)>")


def build_path(rule, values: dict[str, str]) -> str:
    """The rule's URL with each variable replaced by an already-encoded value."""
    return VARIABLE.sub(lambda m: values[m.group(1)], rule.rule)


def encoded(value: str) -> str:
    return quote(value, safe="")


def seed_campaign(app, admin) -> tuple[dict[str, list[str]], dict[tuple[str, str], str]]:
    """The demo campaign, an appeal (pending and confirmed), messages of hope, a bundle, a paper report."""
    from app.appeals import services as appeals
    from app.appeals.models import Appeal
    from app.cases.models import Case, CaseUpdate, Target
    from app.moderation import services as moderation
    from app.moderation.models import Bundle
    from app.offline.models import PaperReport
    from app.solidarity.models import SolidarityLetter

    assert app.test_cli_runner().invoke(args=["seed", "demo"]).exit_code == 0
    case = db.session.scalars(
        sa.select(Case).where(Case.status == "active", Case.published.is_(True)).order_by(Case.id)
    ).first()
    case.wall_public = True
    db.session.commit()
    slug = case.slug
    visitor = app.test_client()
    for n in range(2):
        response = visitor.post(
            f"/en/cases/{slug}/appeal/",
            data={
                "name": "Jane Doe",
                "email": f"jane{n}@example.net",
                "country": "FR",
                "letter": "Dear Minister,\n\nPlease release her.",
                "letter_language": "en",
                "consent_share": "y",
                "consent_updates": "y",
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        response = visitor.post(
            f"/en/cases/{slug}/hope/",
            data={"first_name": "Sam", "country": "FR", "language": "en", "message": f"You are not alone ({n})."},
        )
        assert response.status_code == 302
    response = visitor.post(
        f"/en/cases/{slug}/paper-letters/",
        data={
            "event_name": "School assembly",
            "event_kind": "school",
            "event_date": "2026-11-20",
            "country": "FR",
            "letters": "12",
            "organiser_name": "Sam",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    appeals_rows = list(db.session.scalars(sa.select(Appeal).order_by(Appeal.id)))
    confirmed = appeals.confirm_appeal(appeals.confirmation_token(appeals_rows[0]))
    db.session.commit()
    letters = list(db.session.scalars(sa.select(SolidarityLetter).order_by(SolidarityLetter.id)))
    moderation.moderate([letters[0].id], "approve", admin)
    db.session.commit()
    moderation.create_bundle(case, admin)
    db.session.commit()

    def ids(model) -> list[str]:
        return [str(i) for i in db.session.scalars(sa.select(model.id).order_by(model.id)).all()[:1]]

    target_ids = [str(t.id) for t in case.targets][:1]
    entry_ids = [str(u.id) for u in db.session.scalars(sa.select(CaseUpdate).where(CaseUpdate.case_id == case.id))][:1]
    real_values = {
        "lang_code": ["en", "ar"],
        "slug": [slug],
        "case_id": [str(case.id)],
        "target_id": target_ids or ids(Target),
        "entry_id": entry_ids,
        "letter_id": [str(letters[-1].id)],
        "bundle_id": ids(Bundle),
        "report_id": ids(PaperReport) or ["1"],
        "locale": ["fr"],
        "action": ["pause"],
        "filename": ["inkwell.css"],
        "token": [appeals.status_token(confirmed)],
    }
    pending = appeals_rows[1]
    real_by_endpoint = {
        ("appeals.confirm", "token"): appeals.confirmation_token(pending),
        ("appeals.unsubscribe", "token"): appeals.unsubscribe_token(confirmed),
    }
    return real_values, real_by_endpoint


def real_path(walk: Walk, rule, index: int = 0) -> str:
    values = {}
    for name in rule.arguments:
        choices = walk.real_values.get(name) or ["1"]
        values[name] = encoded(walk.real_by_endpoint.get((rule.endpoint, name), choices[index % len(choices)]))
    return build_path(rule, values)


def harvest_forms(walk: Walk, rules) -> tuple[dict[str, dict[str, list[tuple[str, str]]]], dict[str, set[str]]]:
    """From every GET page: endpoint -> action -> the fields (with the page's values) of the forms that post there,
    and endpoint -> the query names of the search forms and links that lead to it."""
    adapter = walk.app.url_map.bind("localhost")
    forms: dict[str, dict[str, list[tuple[str, str]]]] = {}
    get_forms: dict[str, set[str]] = {}
    for rule in rules:
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = real_path(walk, rule)
        response = walk.client.get(path)
        page = response.get_data(as_text=True)
        response.close()
        if response.mimetype != "text/html":
            continue
        collector = FormCollector()
        collector.feed(page)
        for link in collector.links:
            parts = urlsplit(link)
            try:
                endpoint, _args = adapter.match(parts.path, method="GET")
            except HTTPException:
                continue
            get_forms.setdefault(endpoint, set()).update(name for name, _ in parse_qsl(parts.query))
        for form in collector.forms:
            action = urlsplit(form["action"] or path).path
            method = "POST" if form["method"] == "post" else "GET"
            try:
                endpoint, _args = adapter.match(action, method=method)
            except HTTPException:
                continue
            if method == "GET":
                get_forms.setdefault(endpoint, set()).update(name for name, _ in form["fields"])
                continue
            fields = forms.setdefault(endpoint, {}).setdefault(action, [])
            for name, value in form["fields"]:
                if not any(n == name for n, _ in fields):
                    fields.append((name, value or REALISTIC.get(name, "")))
    return forms, get_forms


def body(fields: list[tuple[str, str]]) -> str:
    return "&".join(f"{encoded(name)}={value}" for name, value in fields)


def realistic(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, encoded(value)) for name, value in fields]


def walk_rule(walk: Walk, rule, forms, get_forms, all_query_names, all_form_names, *, thorough: bool) -> None:
    """Hostile values in the path, the query and the form, every parameter at once; with `thorough`, every kind of
    value at once and each parameter alone (the others realistic), so that one refused first cannot hide another."""
    methods = [m for m in ("GET", "POST") if m in rule.methods]
    own = names_read_by(walk.app.view_functions[rule.endpoint])
    actions = forms.get(rule.endpoint, {})
    form_fields = actions.get(real_path(walk, rule)) or next(iter(actions.values()), [])
    realistic_form = realistic(form_fields)
    urlencoded = {"content_type": "application/x-www-form-urlencoded"}
    kinds = HOSTILE if thorough else {kind: HOSTILE[kind] for kind in EACH}

    def post(path, query="", data=None, **kwargs):
        if data is None:
            data = body(realistic_form)
            kwargs = {**urlencoded, **kwargs}
        return walk.send("POST", path, query, data=data, **kwargs)

    def request(method, path, query=""):
        return walk.send(method, path, query) if method == "GET" else post(path, query)

    # Paths: real values, then each variable hostile with the others real (when the rule still matches: a value its
    # converter refuses, such as text for `<int:...>`, is the router's 404, met by the other rules).
    adapter = walk.app.url_map.bind("localhost")
    choices = max((len(walk.real_values.get(n) or [""]) for n in rule.arguments), default=1)
    for method in methods:
        for index in range(choices):
            request(method, real_path(walk, rule, index))
        for name in rule.arguments:
            for kind, value in HOSTILE_PATH.items():
                if not thorough and kind not in EACH:
                    continue
                values = {n: encoded((walk.real_values.get(n) or ["1"])[0]) for n in rule.arguments}
                values.update({n: encoded(v) for (e, n), v in walk.real_by_endpoint.items() if e == rule.endpoint})
                values[name] = value
                hostile_path = build_path(rule, values)
                try:
                    matched = adapter.match(unquote(hostile_path), method=method)[0] == rule.endpoint
                except HTTPException:
                    matched = False
                if matched:
                    request(method, hostile_path)
    path = real_path(walk, rule)

    # Query parameters: every name any view reads, at once; then one at a time those this view reads (or that its
    # search forms and links carry); one of 100 KB; repeated.
    own_query = sorted(own | get_forms.get(rule.endpoint, set())) if thorough else []
    query_names = sorted(all_query_names)
    if "GET" in methods:
        for value in kinds.values():
            request("GET", path, "&".join(f"{encoded(n)}={value}" for n in query_names))
    if "POST" in methods:  # every name, each with another kind of value first
        values = list(HOSTILE.values())
        request("POST", path, "&".join(f"{encoded(n)}={values[i % len(values)]}" for i, n in enumerate(query_names)))
    for value in (HOSTILE[kind] for kind in EACH):
        for name in own_query:
            request(methods[0], path, f"{encoded(name)}={value}")
    request(methods[0], path, f"{encoded((own_query or ['q'])[0])}={'a' * 100_000}")
    request(methods[0], path, "&".join(f"{encoded(n)}=1&{encoded(n)}=x%00&{encoded(n)}={'9' * 25}" for n in own_query))
    if "POST" not in methods:
        return

    # Form fields: every name any form has, at once; then each field of this rule's forms (and each name its view
    # reads) alone, the others realistic; repeated; as a file part.
    names = list(dict.fromkeys([name for name, _ in form_fields] + sorted(own)))
    everything = sorted(all_form_names | set(names) | {"x"})
    for kind, value in {**kinds, "long": HOSTILE_FORM["long"]}.items():
        if kind == "long":  # 100 KB in all, not per field
            value = "a" * (100_000 // len(everything))
        post(path, data=body([(n, value) for n in everything]), **urlencoded)
    for name in names if thorough else []:
        for kind in EACH_FIELD:
            fields = [(n, HOSTILE_FORM[kind] if n == name else v) for n, v in realistic_form] or [(name, HOSTILE[kind])]
            post(path, data=body(fields), **urlencoded)
    if names:  # as `curl -F letter=@file` would: the other fields as text
        files = {**dict(form_fields), names[0]: (io.BytesIO(b"%PDF-1.4 not a letter\x00\xff"), "letter.pdf")}
        post(path, data=files, content_type="multipart/form-data")
    post(path, data=body(realistic_form + [(n, v) for n in names for v in ("x%00y", "9" * 25)]), **urlencoded)
    post(path, data={n: (io.BytesIO(b"x" * 1000), "x.txt") for n in everything}, content_type="multipart/form-data")
    # Bodies that are not the forms a browser sends.
    post(path, data=b"name=\xff\xfe&email=\x00", **urlencoded)
    post(path, data="[" * 50_000 + "]" * 50_000, content_type="application/json")
    post(path, data=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x")
    post(path, data=b"a=1", content_type="multipart/form-data")


def test_the_requests_found_in_the_audit_get_clear_pages(app, client):
    from tests.factories import make_case, make_hope

    case = make_case(slug="ana", wall_public=True)
    make_hope(case, state="approved")
    db.session.commit()
    assert client.get("/en/cases/x%00/").status_code == 404
    response = client.get("/en/cases/?country=%00")
    assert response.status_code == 400
    assert "no link of ours" in response.get_data(as_text=True)
    response = client.get("/en/cases/ana/wall/?before=9223372036854775808")
    assert response.status_code == 200  # every message is "before" an id no row can have: the first page
    assert "You are not alone." in response.get_data(as_text=True)
    letter = (io.BytesIO(b"Dear Minister,\n\nPlease release her."), "letter.txt")  # curl -F letter=@file
    data = {"name": "Jane Doe", "email": "jane@example.net", "country": "FR", "letter": letter}
    response = client.post("/en/cases/ana/appeal/", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "takes text only, not files" in response.get_data(as_text=True)
    response = client.post("/en/cases/ana/appeal/", data='{"name": ["Jane"]}', content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("who", ["visitor", "admin"])
def test_no_hostile_request_answers_5xx(app, client, staff, who):
    _moderator, admin = staff
    real_values, real_by_endpoint = seed_campaign(app, admin)
    walk = Walk(app, client, real_values, real_by_endpoint)
    if who == "admin":
        assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (any(w in r.endpoint for w in DESTRUCTIVE), r.rule))
    forms, get_forms = harvest_forms(walk, rules)
    all_query_names = names_read_anywhere().union(*get_forms.values())
    all_form_names = {name for actions in forms.values() for fields in actions.values() for name, _ in fields}
    for rule in rules:
        # One parameter at a time where this visitor reaches the view's own work: staff pages for the admin, the
        # others for the visitor (a staff page sends a visitor to sign in before it reads anything; a public page
        # does the same work for staff, but for the larger form limit, which the all-at-once requests meet).
        staff_page = bool(getattr(app.view_functions[rule.endpoint], "required_roles", None))
        walk_rule(
            walk, rule, forms, get_forms, all_query_names, all_form_names, thorough=staff_page == (who == "admin")
        )
        if who == "admin" and "logout" in rule.endpoint:
            assert sign_in(client, "admin@inkwell.example.org").status_code == 302
    assert walk.requests > 1000
    assert not walk.failures, f"{len(walk.failures)} of {walk.requests} requests answered 5xx:\n" + "\n".join(
        walk.failures[:200]
    )
