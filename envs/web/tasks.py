"""Web tasks generated from a seed as real HTML pages, in the spirit of MiniWoB++ (same names): each task is the
first page, the instruction (an utterance and its key/value fields) and a `site` that answers the user's actions.

A site works like a server-rendered web app: clicking a link or button, or typing into an input that offers
suggestions, may answer with a new page (rendered from the site's state and the form's values) or with the
task's verdict. The pages carry no scripts, so the in-process DOM and a real browser show the same thing.
Elements are named to the site by their `data-key` attribute, else their id; list items whose position is the
answer (search results, posts, emails, flights) are keyed by `data-key`, which the observation does not encode.

Instruction values (words, names, airports) come from lists split into a training and a held-out half
(`split="train"` or `"test"`), so a policy can be evaluated on values it never saw.
"""

from __future__ import annotations

import dataclasses
import html
import math
from typing import Callable, Protocol

import numpy as np

# instruction vocabularies; even positions train, odd positions are held out
WORDS = ("apple", "river", "stone", "cloud", "maple", "tiger", "ocean", "pearl", "amber", "cedar", "delta", "ember",
         "frost", "grove", "harbor", "ivory", "jungle", "karma", "lemon", "meadow", "nectar", "onyx", "prism",
         "quartz", "raven", "sierra", "tundra", "umber", "violet", "willow", "xenon", "yonder", "zephyr", "atlas",
         "banjo", "comet", "dune", "echo", "fable", "glade")
NAMES = ("alice", "bruno", "carla", "dmitri", "elena", "farid", "greta", "hiro", "ines", "jonas", "kira", "luca",
         "maya", "nils", "olga", "pavel", "quinn", "rosa", "sven", "tara", "ugo", "vera", "wade", "xena", "yuri",
         "zoe")
AIRPORTS = ("Aberdeen, SD (ABR)", "Albany, NY (ALB)", "Amarillo, TX (AMA)", "Anchorage, AK (ANC)",
            "Asheville, NC (AVL)", "Atlanta, GA (ATL)", "Austin, TX (AUS)", "Billings, MT (BIL)", "Boise, ID (BOI)",
            "Boston, MA (BOS)", "Buffalo, NY (BUF)", "Burlington, VT (BTV)", "Charleston, SC (CHS)",
            "Chicago, IL (ORD)", "Cincinnati, OH (CVG)", "Denver, CO (DEN)", "Des Moines, IA (DSM)",
            "Detroit, MI (DTW)", "El Paso, TX (ELP)", "Fargo, ND (FAR)", "Fresno, CA (FAT)", "Honolulu, HI (HNL)",
            "Houston, TX (IAH)", "Juneau, AK (JNU)", "Knoxville, TN (TYS)", "Las Vegas, NV (LAS)",
            "Memphis, TN (MEM)", "Miami, FL (MIA)", "Missoula, MT (MSO)", "Nashville, TN (BNA)",
            "Omaha, NE (OMA)", "Orlando, FL (MCO)", "Phoenix, AZ (PHX)", "Portland, ME (PWM)", "Portland, OR (PDX)",
            "Reno, NV (RNO)", "Savannah, GA (SAV)", "Seattle, WA (SEA)", "Spokane, WA (GEG)", "Tucson, AZ (TUS)")
SPLITS = ("train", "test")


def vocabulary(words: tuple[str, ...], split: str) -> tuple[str, ...]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid choices: {', '.join(SPLITS)}")
    return words[SPLITS.index(split)::2]


def _pick(rng: np.random.Generator, choices: tuple[str, ...], count: int = 1) -> list[str]:
    return [choices[i] for i in rng.choice(len(choices), size=count, replace=False)]


def _page(body: str, title: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><div id='wrap'><div id='query'></div><div id='area'>{body}</div></div></body></html>")


def _button(key: str, label: str, css: str = "", keyed: bool = False) -> str:
    name = f"data-key='{key}'" if keyed else f"id='{key}'"
    return f"<button {name} class='{css}' type='button'>{html.escape(label)}</button>"


def _input(key: str, value: str = "", kind: str = "text") -> str:
    return f"<input id='{key}' type='{kind}' value='{html.escape(value, quote=True)}'>"


# --- what a site answers -----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Form:
    """The page's inputs when the user acts: values of text inputs and states of checkboxes, by id."""

    values: dict[str, str]
    checked: dict[str, bool]


@dataclasses.dataclass(frozen=True)
class Response:
    """A new page to show, and/or the end of the task (verdict True: success, False: failure)."""

    page: str | None = None
    verdict: bool | None = None


class Site(Protocol):
    goal_size: int  # the most `progress` can be

    def on_click(self, key: str, form: Form) -> Response: ...

    def on_type(self, key: str, form: Form) -> Response: ...

    def progress(self, form: Form) -> int:
        """Φ for reward shaping: how many parts of the goal the state already meets."""


@dataclasses.dataclass
class Task:
    name: str
    html: str  # the first page
    utterance: str
    fields: tuple[tuple[str, str], ...]  # (key, value) pairs of the instruction
    site: Site
    max_steps: int


# --- one-page forms ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class FormSite:
    """One page of inputs and checkboxes; clicking any button ends the task, a success when it is the finishing
    button and every goal value and checkbox state is on the page."""

    buttons: tuple[str, ...]
    finish: str
    values: dict[str, str] = dataclasses.field(default_factory=dict)
    checked: dict[str, bool] = dataclasses.field(default_factory=dict)

    @property
    def goal_size(self) -> int:
        return len(self.values) + len(self.checked)

    def on_click(self, key: str, form: Form) -> Response:
        if key not in self.buttons:
            return Response()
        return Response(verdict=key == self.finish and self.progress(form) == self.goal_size)

    def on_type(self, key: str, form: Form) -> Response:
        return Response()

    def progress(self, form: Form) -> int:
        return (sum(form.values.get(i) == v for i, v in self.values.items())
                + sum(form.checked.get(i) == c for i, c in self.checked.items()))


def click_button(rng: np.random.Generator, split: str) -> Task:
    labels = _pick(rng, vocabulary(WORDS, split), int(rng.integers(2, 7)))
    target = labels[int(rng.integers(len(labels)))]
    buttons = "".join(_button(f"b{i}", w) for i, w in enumerate(labels))
    site = FormSite(tuple(f"b{i}" for i in range(len(labels))), finish=f"b{labels.index(target)}")
    return Task("click-button", _page(buttons, "click-button"), f'Click on the "{target}" button.',
                (("target", target),), site, max_steps=3)


def enter_text(rng: np.random.Generator, split: str) -> Task:
    word = _pick(rng, vocabulary(WORDS, split))[0]
    return Task("enter-text", _page(_input("tt") + _button("submit", "Submit"), "enter-text"),
                f'Enter "{word}" into the text field and press Submit.', (("text", word),),
                FormSite(("submit",), "submit", values={"tt": word}), max_steps=4)


def enter_password(rng: np.random.Generator, split: str) -> Task:
    word = _pick(rng, vocabulary(WORDS, split))[0]
    body = (f"<p><label for='password'>Password</label>{_input('password', kind='password')}</p>"
            f"<p><label for='verify'>Verify password</label>{_input('verify', kind='password')}</p>"
            + _button("submit", "Submit"))
    return Task("enter-password", _page(body, "enter-password"),
                f'Enter the password "{word}" into both text fields and press Submit.', (("password", word),),
                FormSite(("submit",), "submit", values={"password": word, "verify": word}), max_steps=5)


def login_user(rng: np.random.Generator, split: str) -> Task:
    name, word = _pick(rng, vocabulary(NAMES, split))[0], _pick(rng, vocabulary(WORDS, split))[0]
    body = (f"<p><label for='username'>Username</label>{_input('username')}</p>"
            f"<p><label for='password'>Password</label>{_input('password', kind='password')}</p>"
            + _button("submit", "Login"))
    return Task("login-user", _page(body, "login-user"),
                f'Enter the username "{name}" and the password "{word}" into the text fields and press login.',
                (("username", name), ("password", word)),
                FormSite(("submit",), "submit", values={"username": name, "password": word}), max_steps=5)


def click_checkboxes(rng: np.random.Generator, split: str) -> Task:
    labels = _pick(rng, vocabulary(WORDS, split), int(rng.integers(2, 7)))
    chosen = sorted(_pick(rng, tuple(labels), int(rng.integers(0, len(labels) + 1))), key=labels.index)
    boxes = "".join(f"<label><input id='c{i}' type='checkbox'>{html.escape(w)}</label><br>"
                    for i, w in enumerate(labels))
    wanted = ", ".join(chosen) if chosen else "nothing"
    site = FormSite(("submit",), "submit", checked={f"c{i}": w in chosen for i, w in enumerate(labels)})
    return Task("click-checkboxes", _page(boxes + _button("submit", "Submit"), "click-checkboxes"),
                f"Select {wanted} and click Submit.", tuple((f"target {i + 1}", w) for i, w in enumerate(chosen)),
                site, max_steps=len(labels) + 3)


# --- search-engine: type a query, search, page through the results, open the k-th -----------------------------
RESULTS_PER_PAGE, RESULT_PAGES = 3, 3


@dataclasses.dataclass
class SearchSite:
    query: str
    rank: int  # 1-based, over all result pages
    results: tuple[tuple[str, str], ...]  # (title, snippet)
    searched: str | None = None
    shown_page: int = 0  # 0: no results yet

    goal_size = 3

    def render(self, typed: str = "") -> str:
        body = _input("search-text", typed) + _button("search", "Search")
        if self.shown_page:
            first = (self.shown_page - 1) * RESULTS_PER_PAGE
            body += "<div id='results'>" + "".join(
                f"<div class='result'><a data-key='result-{first + i}' class='result-title' href='#'>"
                f"{html.escape(title)}</a><p class='snippet'>{html.escape(snippet)}</p></div>"
                for i, (title, snippet) in enumerate(self.results[first:first + RESULTS_PER_PAGE])) + "</div>"
            body += "<ul id='pagination'>" + "".join(
                f"<li><span class='current'>{p}</span></li>" if p == self.shown_page else
                f"<li><a data-key='page-{p}' class='page' href='#'>{p}</a></li>" for p in range(1, RESULT_PAGES + 1))
            body += "</ul>"
        return _page(body, "search-engine")

    def on_click(self, key: str, form: Form) -> Response:
        if key == "search":
            self.searched, self.shown_page = form.values["search-text"], 1
        elif key.startswith("page-"):
            self.shown_page = int(key.removeprefix("page-"))
        elif key.startswith("result-"):
            return Response(verdict=self.searched == self.query and int(key.removeprefix("result-")) == self.rank - 1)
        else:
            return Response()
        return Response(page=self.render(form.values["search-text"]))

    def on_type(self, key: str, form: Form) -> Response:
        return Response()

    def progress(self, form: Form) -> int:
        searched = self.searched == self.query
        on_page = searched and self.shown_page == math.ceil(self.rank / RESULTS_PER_PAGE)
        return int(form.values.get("search-text") == self.query) + int(searched) + int(on_page)


ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th")


def search_engine(rng: np.random.Generator, split: str) -> Task:
    names, words = vocabulary(NAMES, split), vocabulary(WORDS, split)
    query = _pick(rng, names)[0]
    rank = int(rng.integers(1, RESULTS_PER_PAGE * RESULT_PAGES + 1))
    results = tuple((f"{query if rng.random() < 0.5 else _pick(rng, names)[0]} {_pick(rng, words)[0]}",
                     " ".join(_pick(rng, words, 4))) for _ in range(RESULTS_PER_PAGE * RESULT_PAGES))
    site = SearchSite(query, rank, results)
    return Task("search-engine", site.render(), f'Use the textbox to enter "{query}" and press "Search", then find '
                f"and click the {ORDINALS[rank - 1]} search result.", (("query", query), ("rank", str(rank))),
                site, max_steps=8)


# --- social-media: act on the post of a given user -----------------------------------------------------------------
SOCIAL_BUTTONS = ("reply", "retweet", "like", "share")


@dataclasses.dataclass
class SocialSite:
    target: str  # the key of the button to click

    goal_size = 0

    def on_click(self, key: str, form: Form) -> Response:
        return Response(verdict=key == self.target) if key.startswith("post-") else Response()

    def on_type(self, key: str, form: Form) -> Response:
        return Response()

    def progress(self, form: Form) -> int:
        return 0


def social_media(rng: np.random.Generator, split: str) -> Task:
    users = _pick(rng, vocabulary(NAMES, split), int(rng.integers(3, 6)))
    words = vocabulary(WORDS, split)
    posts = "".join(
        f"<div class='media'><div class='details'><span class='username'>@{user}</span>"
        f"<span class='time'>{int(rng.integers(1, 24))}h ago</span></div>"
        f"<div class='body'>{' '.join(_pick(rng, words, 3))}</div><div class='controls'>"
        + "".join(_button(f"post-{i}-{b}", b.capitalize(), css=b, keyed=True) for b in SOCIAL_BUTTONS)
        + "</div></div>" for i, user in enumerate(users))
    post, button = int(rng.integers(len(users))), SOCIAL_BUTTONS[int(rng.integers(len(SOCIAL_BUTTONS)))]
    return Task("social-media", _page(f"<div id='feed'>{posts}</div>", "social-media"),
                f'For the user @{users[post]}, click on the "{button.capitalize()}" button.',
                (("user", users[post]), ("button", button)), SocialSite(f"post-{post}-{button}"), max_steps=3)


# --- email-inbox: open the email of a sender, then reply, forward, delete or star it -------------------------------
EMAIL_ACTIONS = ("reply", "forward", "delete", "star")


@dataclasses.dataclass
class EmailSite:
    emails: tuple[tuple[str, str, str], ...]  # (sender, subject, body)
    target: int
    action: str
    text: str  # the reply text or the forward recipient
    view: str = "inbox"  # inbox, email, reply or forward
    opened: int = -1

    @property
    def goal_size(self) -> int:
        return 3 if self.action in ("reply", "forward") else 1

    def render(self) -> str:
        if self.view == "inbox":
            body = "<div id='inbox'>" + "".join(
                f"<div class='email'><a data-key='open-{i}' class='email-sender' href='#'>{html.escape(sender)}</a>"
                f"<span class='email-subject'>{html.escape(subject)}</span></div>"
                for i, (sender, subject, _) in enumerate(self.emails)) + "</div>"
        else:
            sender, subject, text = self.emails[self.opened]
            body = (f"<div id='email'><a id='back' href='#'>Back</a><span class='email-sender'>{html.escape(sender)}"
                    f"</span><span class='email-subject'>{html.escape(subject)}</span>"
                    f"<p class='email-body'>{html.escape(text)}</p>")
            if self.view == "email":
                body += "".join(_button(a, a.capitalize(), css=a) for a in EMAIL_ACTIONS)
            else:
                label = "Reply" if self.view == "reply" else "To"
                body += f"<label for='{self.view}-text'>{label}</label>{_input(f'{self.view}-text')}"
                body += _button("send", "Send")
            body += "</div>"
        return _page(body, "email-inbox")

    def on_click(self, key: str, form: Form) -> Response:
        right = self.opened == self.target
        if key.startswith("open-"):
            self.view, self.opened = "email", int(key.removeprefix("open-"))
        elif key == "back":
            self.view = "inbox"
        elif self.view == "email" and key in ("delete", "star"):
            return Response(verdict=right and self.action == key)
        elif self.view == "email" and key in ("reply", "forward"):
            self.view = key
        elif key == "send":
            return Response(verdict=right and self.action == self.view and form.values[f"{self.view}-text"] == self.text)
        else:
            return Response()
        return Response(page=self.render())

    def on_type(self, key: str, form: Form) -> Response:
        return Response()

    def progress(self, form: Form) -> int:
        right = self.opened == self.target and self.view != "inbox"
        composing = right and self.view == self.action
        return int(right) + int(composing) + int(composing and form.values.get(f"{self.view}-text") == self.text)


def email_inbox(rng: np.random.Generator, split: str) -> Task:
    names, words = vocabulary(NAMES, split), vocabulary(WORDS, split)
    senders = _pick(rng, names, int(rng.integers(3, 6)))
    emails = tuple((s.capitalize(), " ".join(_pick(rng, words, 2)), " ".join(_pick(rng, words, 5))) for s in senders)
    target, action = int(rng.integers(len(emails))), EMAIL_ACTIONS[int(rng.integers(len(EMAIL_ACTIONS)))]
    sender = senders[target]
    if action == "reply":
        text = _pick(rng, words)[0]
        utterance, extra = f'Find the email by {sender} and reply to them with the text "{text}".', ("text", text)
    elif action == "forward":
        text = _pick(rng, tuple(n for n in names if n != sender))[0]
        utterance, extra = f"Find the email by {sender} and forward that email to {text}.", ("to", text)
    else:
        text, extra = "", None
        utterance = f"Find the email by {sender} and click the {'trash' if action == 'delete' else 'star'} button."
    site = EmailSite(emails, target, action, text)
    fields = (("by", sender), ("action", action)) + ((extra,) if extra else ())
    return Task("email-inbox", site.render(), utterance, fields, site, max_steps=8)


# --- book-flight: airports through suggestions, a date, search, book the flight that meets a criterion ------------
@dataclasses.dataclass
class FlightSite:
    route: tuple[str, str, str]  # origin and destination airports, the date
    criterion: str  # cheapest or shortest
    flights: tuple[tuple[int, int, int], ...]  # (departure minute of the day, duration in minutes, price)
    view: str = "form"
    inputs: dict[str, str] = dataclasses.field(default_factory=lambda: {"flight-from": "", "flight-to": "",
                                                                         "datepicker": ""})
    suggesting: str = ""  # the input whose suggestions are shown
    searched: tuple[str, str, str] | None = None

    goal_size = 4

    def best(self) -> int:
        column = 2 if self.criterion == "cheapest" else 1
        return min(range(len(self.flights)), key=lambda i: self.flights[i][column])

    def suggestions(self) -> list[str]:
        typed = self.inputs.get(self.suggesting, "").lower()
        return [a for a in AIRPORTS if typed and typed in a.lower()][:5]

    def render(self) -> str:
        if self.view == "form":
            body = "<div id='search-form'>"
            for key, label in (("flight-from", "From"), ("flight-to", "To")):
                body += f"<label for='{key}'>{label}</label>{_input(key, self.inputs[key])}"
                if key == self.suggesting:
                    body += "<ul class='suggestions'>" + "".join(
                        f"<li><a data-key='pick-{AIRPORTS.index(a)}' class='suggestion' href='#'>{html.escape(a)}</a>"
                        f"</li>" for a in self.suggestions()) + "</ul>"
            body += (f"<label for='datepicker'>Departure date</label>{_input('datepicker', self.inputs['datepicker'])}"
                     + _button("search", "Search") + "</div>")
        else:
            origin, destination, day = self.searched
            body = (f"<div id='results-header'><a id='back' href='#'>New search</a><span class='route'>"
                    f"{html.escape(origin)} to {html.escape(destination)}</span><span class='date'>{day}</span></div>"
                    "<div id='results'>")
            for i, (depart, duration, price) in enumerate(self.flights):
                arrive = depart + duration
                body += (f"<div class='flight'><div class='depart'><span class='time'>{_clock(depart)}</span></div>"
                         f"<div class='arrive'><span class='time'>{_clock(arrive)}</span></div>"
                         f"<div class='duration'>Duration: {duration} min</div>"
                         + _button(f"book-{i}", f"Book flight for ${price}", css="book", keyed=True) + "</div>")
            body += "</div>"
        return _page(body, "book-flight")

    def on_click(self, key: str, form: Form) -> Response:
        self.inputs.update((k, v) for k, v in form.values.items() if k in self.inputs)
        if key.startswith("pick-") and self.suggesting:
            self.inputs[self.suggesting], self.suggesting = AIRPORTS[int(key.removeprefix("pick-"))], ""
        elif key == "search":
            if self.inputs["flight-from"] not in AIRPORTS or self.inputs["flight-to"] not in AIRPORTS:
                return Response()  # the form needs airports chosen from the suggestions
            self.view, self.suggesting = "results", ""
            self.searched = (self.inputs["flight-from"], self.inputs["flight-to"], self.inputs["datepicker"])
        elif key == "back":
            self.view = "form"
        elif key.startswith("book-"):
            return Response(verdict=self.searched == self.route and int(key.removeprefix("book-")) == self.best())
        else:
            return Response()
        return Response(page=self.render())

    def on_type(self, key: str, form: Form) -> Response:
        self.inputs.update((k, v) for k, v in form.values.items() if k in self.inputs)
        if key not in ("flight-from", "flight-to"):
            return Response()
        self.suggesting = key
        return Response(page=self.render())

    def progress(self, form: Form) -> int:
        if self.view == "results":
            return 4 if self.searched == self.route else 0
        values = (form.values.get("flight-from"), form.values.get("flight-to"), form.values.get("datepicker"))
        return sum(a == b for a, b in zip(values, self.route))


def _clock(minute: int) -> str:
    hour, minute = divmod(minute % (24 * 60), 60)
    return f"{(hour - 1) % 12 + 1}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def book_flight(rng: np.random.Generator, split: str) -> Task:
    origin, destination = _pick(rng, vocabulary(AIRPORTS, split), 2)
    day = f"{int(rng.integers(1, 13)):02d}/{int(rng.integers(1, 29)):02d}/2016"
    count = int(rng.integers(6, 11))
    durations = rng.choice(np.arange(60, 600, 5), count, replace=False)
    prices = rng.choice(np.arange(90, 1200), count, replace=False)
    flights = tuple((int(rng.integers(5 * 60, 22 * 60)), int(d), int(p)) for d, p in zip(durations, prices))
    criterion = ("cheapest", "shortest")[int(rng.integers(2))]
    typed = [a.split(" (")[0] if rng.random() < 0.5 else a[-4:-1] for a in (origin, destination)]  # city or code
    site = FlightSite((origin, destination, day), criterion, flights)
    return Task("book-flight", site.render(),
                f"Book the {criterion} one-way flight from: {typed[0]} to: {typed[1]} on {day}.",
                (("from", typed[0]), ("to", typed[1]), ("date", day), ("criterion", criterion)), site,
                max_steps=12)


TASKS: dict[str, Callable[[np.random.Generator, str], Task]] = {
    "click-button": click_button, "enter-text": enter_text, "enter-password": enter_password,
    "login-user": login_user, "click-checkboxes": click_checkboxes, "search-engine": search_engine,
    "social-media": social_media, "email-inbox": email_inbox, "book-flight": book_flight}
MAX_ELEMENTS = {"click-button": 16, "enter-text": 16, "enter-password": 16, "login-user": 16,
                "click-checkboxes": 32, "search-engine": 32, "social-media": 64, "email-inbox": 24,
                "book-flight": 96}  # the default padding per task: its largest page fits


def make_task(name: str, rng: np.random.Generator, split: str = "train") -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid choices: {', '.join(TASKS)}")
    return TASKS[name](rng, split)
