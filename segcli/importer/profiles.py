"""Import profiles (SPEC §8): how another system's export maps onto seg's fields.

A ``Profile`` says which headers feed which field or attribute (``columns``), how their values
are written (``values`` maps, ``invert``, a date ``format``), which headers to leave out
(``skip``), how customers are matched (``key``), and how the source writes times, day-first
dates and national phone numbers. Headers it does not map go through the ``auto`` rules: §2's
names and aliases, then common synonyms (``SYNONYMS``), else an attribute named as the header.

The built-in profiles (``shopify``, ``chatwoot``, ``hubspot``, ``mailchimp``, ``auto``) are
written from each product's real export layout (README "Importing from other systems" lists the
sources); a profile file or a ``profiles:`` item in a segments file is read by ``yamlio`` into the
same ``Profile``, and ``to_dict`` is its YAML form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import InvalidValue
from ..fields import BUILTIN_BY_NAME, check_attribute_name
from ..values import fold

KEYS = ("id", "phone", "email")
COMBINES = ("join", "first")


def header_key(header: str) -> str:
    """How headers are matched (SPEC §14): without case, spaces, ``-`` or ``_``; ``Created At``,
    ``created_at`` and ``CREATED-AT`` are one header."""
    return re.sub(r"[\s\-_]+", "", fold(header))


@dataclass(frozen=True)
class Column:
    """One field's mapping: the headers it comes from and how their values are written.

    Several headers are joined with a space (``combine: join``, the default for ``name`` and
    text attributes) or give the first non-empty value in header order (``first``, the default
    for every other field). ``values`` rewrites spellings (compared as text compares: case and
    Unicode spelling do not count) before ``invert`` turns a yes into a no; ``format`` is
    ``epoch`` or a ``strftime`` pattern for a date column."""

    target: str
    headers: tuple[str, ...]
    combine: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    invert: bool = False
    format: str | None = None
    guard: bool = False  # built-in only: strip a spreadsheet's "'" guard (Shopify ids)
    parse: str | None = None  # built-in only: "tags" for Mailchimp's "a","b" cells

    def joins(self) -> bool:
        if self.combine is not None:
            return self.combine == "join"
        return self.target == "name" or BUILTIN_BY_NAME.get(self.target.lower()) is None

    def to_dict(self) -> object:
        headers: object = self.headers[0] if len(self.headers) == 1 else list(self.headers)
        extra: dict = {}
        if self.combine is not None:
            extra["combine"] = self.combine
        if self.values:
            extra["values"] = dict(self.values)
        if self.invert:
            extra["invert"] = True
        if self.format:
            extra["format"] = self.format
        return {"column": headers, **extra} if extra else headers


@dataclass(frozen=True)
class Profile:
    """How one kind of export maps onto seg (see the module's docstring)."""

    name: str
    columns: tuple[Column, ...] = ()
    skip: tuple[str, ...] = ()
    key: tuple[str, ...] = ("id",)  # the first of these fields whose column the file has
    timezone: str | None = None
    dayfirst: bool | None = None
    default_region: str | None = None
    description: str | None = None
    builtin: bool = False
    #: built-in only: headers whose cells are hashes of attributes named by their keys (Chatwoot)
    hashes: tuple[str, ...] = ()
    #: built-in only: marketing_opt_out for the whole file by the headers it has (Mailchimp):
    #: (header prefix, value) pairs, the first that matches wins, else ``consent_default``
    file_consent: tuple[tuple[str, bool], ...] = ()
    consent_default: bool | None = None
    #: built-in only: an opt-in column that the file may lack: then nobody consented (SPEC §14)
    opt_in: tuple[str, ...] = ()

    def with_options(
        self,
        *,
        maps: list[tuple[str, str]] = (),
        skip: list[str] = (),
        key: str | None = None,
        dayfirst: bool | None = None,
    ) -> Profile:
        """This profile with the command line's ``--map HEADER=FIELD``, ``--skip``, ``--key``
        and ``--dayfirst``/``--monthfirst`` laid over it: a ``--map`` replaces the profile's
        mapping of that field, and takes its header away from any other field."""
        columns = list(self.columns)
        for header, target in maps:
            hk, tk = header_key(header), header_key(target)
            kept = []
            for c in columns:
                if header_key(c.target) == tk:
                    continue
                headers = tuple(h for h in c.headers if header_key(h) != hk)
                if headers or not c.headers:
                    kept.append(replace(c, headers=headers) if headers != c.headers else c)
            columns = [*kept, Column(_target_name(target), (header,))]
        return replace(
            self,
            columns=tuple(columns),
            skip=self.skip + tuple(skip),
            key=(key,) if key else self.key,
            dayfirst=self.dayfirst if dayfirst is None else dayfirst,
            opt_in=() if any(header_key(t) == "marketingoptout" for _, t in maps) else self.opt_in,
        )

    def to_dict(self, *, standalone: bool = False) -> dict:
        """The profile as YAML writes it: ``profile: NAME`` in a file of its own, ``name: NAME``
        as an item of a segments file's ``profiles:``."""
        out: dict = {("profile" if standalone else "name"): self.name}
        if self.description:
            out["description"] = self.description
        if self.key != ("id",):
            out["key"] = self.key[0] if len(self.key) == 1 else list(self.key)
        for name in ("timezone", "dayfirst", "default_region"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.columns:
            out["columns"] = {c.target: c.to_dict() for c in self.columns}
        if self.skip:
            out["skip"] = list(self.skip)
        return out


def _target_name(target: str) -> str:
    """A mapping's target as stored: a built-in field by its name (``opted_out`` is
    ``marketing_opt_out``), anything else an attribute named as written."""
    builtin = BUILTIN_BY_NAME.get(target.strip().lower())
    return builtin.name if builtin else target.strip()


def profile_from_dict(data: dict) -> Profile:
    """A Profile from its YAML form (keys as ``Profile.to_dict`` writes them, values as text).
    InvalidValue names what is wrong; ``yamlio`` adds the file and line."""
    from ..timeutil import zone

    name = str(data.get("name") or data.get("profile") or "").strip()
    if not name:
        raise InvalidValue("a profile needs a name")
    if name.lower() in BUILT_IN:
        raise InvalidValue(f'"{name}" is a built-in profile: give yours another name')
    key = data.get("key", ["id"])
    keys = tuple(key if isinstance(key, list) else [key])
    for k in keys:
        if k not in KEYS:
            raise InvalidValue(f'key: "{k}" is not one of {", ".join(KEYS)}')
    timezone = data.get("timezone")
    if timezone is not None:
        zone(timezone)  # raises InvalidValue for an unknown zone
    region = data.get("default_region")
    if region is not None:
        from ..values import normalize_country

        region = normalize_country(region)
    dayfirst = _flag(data.get("dayfirst"), "dayfirst")
    columns = []
    for target, spec in (data.get("columns") or {}).items():
        columns.append(column_from_spec(str(target), spec))
    skip = tuple(str(s) for s in data.get("skip") or ())
    return Profile(
        name,
        tuple(columns),
        skip,
        keys,
        timezone,
        dayfirst,
        region,
        description=data.get("description") or None,
    )


def column_from_spec(target: str, spec: object) -> Column:
    """One ``columns:`` entry: a header, a list of headers, or a mapping with ``column`` and
    optionally ``values``, ``invert``, ``format``, ``combine``."""
    target = _target_name(target)
    if not target:
        raise InvalidValue("a column mapping needs a field or attribute name")
    if BUILTIN_BY_NAME.get(target.lower()) is None:
        check_attribute_name(target)
    options: dict = {}
    if isinstance(spec, dict):
        unknown = set(spec) - {"column", "values", "invert", "format", "combine"}
        if unknown:
            raise InvalidValue(
                f'{target}: unknown key "{sorted(unknown)[0]}" (allowed: column, values, invert, format, combine)'
            )
        if "column" not in spec:
            raise InvalidValue(f"{target}: a mapping needs its column")
        options = spec
        spec = spec["column"]
    headers = tuple(str(h).strip() for h in (spec if isinstance(spec, list) else [spec]) if h is not None)
    if not headers or not all(headers):
        raise InvalidValue(f"{target}: name the column(s) it comes from")
    combine = options.get("combine")
    if combine is not None and combine not in COMBINES:
        raise InvalidValue(f'{target}: combine is "join" or "first"')
    invert = bool(_flag(options.get("invert"), f"{target}: invert"))
    values = options.get("values") or {}
    if not isinstance(values, dict):
        raise InvalidValue(f"{target}: values is a mapping of spellings to values")
    fmt = options.get("format")
    if fmt is not None and fmt != "epoch" and "%" not in str(fmt):
        raise InvalidValue(f'{target}: format is "epoch" or a strftime pattern such as "%d/%m/%Y"')
    return Column(
        target,
        headers,
        combine,
        tuple((str(k), str(v)) for k, v in values.items()),
        invert,
        str(fmt) if fmt is not None else None,
    )


def _flag(value: object, what: str) -> bool | None:
    """A yes/no setting, as YAML or JSON writes it."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on"):
        return True
    if text in ("false", "no", "off"):
        return False
    raise InvalidValue(f"{what} is true or false")


# --- the auto rules ---------------------------------------------------------------------------

#: Headers that mean a built-in field in exports (SPEC §8 ``auto``), beyond its names and aliases.
#: Matched as ``header_key`` does. Consent columns that are opt-ins are in ``OPT_IN``.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("Customer ID", "Contact ID", "Record ID", "Client ID", "Subscriber ID", "User ID"),
    "phone": (
        "Phone Number",
        "Mobile",
        "Mobile Number",
        "Mobile Phone",
        "Mobile Phone Number",
        "WhatsApp Number",
        "WhatsApp",
        "WhatsApp Phone",
        "Phone No",
        "Telephone",
        "Cell Phone",
    ),
    "email": ("Email Address", "E-mail", "E-mail Address", "Mail"),
    "country": ("Country Code", "Country/Region", "Country Name"),
    "platform": ("Channel", "Source channel", "Channel Type", "Source"),
    "language": ("Preferred language", "Locale", "Language Code", "Preferred Locale"),
    "created_at": ("Created At", "Create Date", "Signup date", "Sign Up Date", "Date Added", "Created On"),
    "last_interaction_at": (
        "Last Seen",
        "Last Activity",
        "Last Interaction",
        "Last Interaction Time",
        "Last Activity Date",
        "Last Message At",
    ),
    "marketing_opt_out": ("Unsubscribed", "Opted Out", "Opt Out", "Unsubscribed from all email"),
    "tags": ("Labels", "Tag List"),
}
#: Opt-in columns: their value inverted is ``marketing_opt_out``.
OPT_IN = ("Opted In", "Subscribed", "Accepts Marketing", "Opt In", "Marketing Consent", "Consent")
#: Headers joined into ``name`` when the file has no name column.
NAME_PARTS = (("First Name", "Given Name", "FirstName"), ("Last Name", "Family Name", "Surname", "LastName"))


def _synonym_table() -> dict[str, str]:
    table = {header_key(alias): f.name for alias, f in BUILTIN_BY_NAME.items()}
    for target, names in SYNONYMS.items():
        table.update((header_key(n), target) for n in names)
    return table


SYNONYM_KEYS = _synonym_table()
OPT_IN_KEYS = frozenset(header_key(h) for h in OPT_IN)
FIRST_NAME_KEYS = frozenset(header_key(h) for h in NAME_PARTS[0])
LAST_NAME_KEYS = frozenset(header_key(h) for h in NAME_PARTS[1])


# --- the built-in profiles --------------------------------------------------------------------

AUTO = Profile("auto", description="seg's own names and aliases, then common synonyms", builtin=True)

SHOPIFY = Profile(
    "shopify",
    columns=(
        Column("id", ("Customer ID",), guard=True),
        Column("name", ("First Name", "Last Name"), "join"),
        Column("email", ("Email",)),
        Column("phone", ("Phone", "Default Address Phone"), "first", guard=True),
        Column("country", ("Default Address Country Code", "Country Code"), "first"),
        Column("tags", ("Tags",)),
        Column("marketing_opt_out", ("Accepts SMS Marketing",), invert=True),
    ),
    key=("id", "email"),  # the older export has no Customer ID: keyed by email (SPEC §14)
    description="Shopify customer export (the 2023+ header set, and the older one without Customer ID)",
    builtin=True,
    opt_in=("Accepts SMS Marketing",),
)

CHATWOOT = Profile(
    "chatwoot",
    columns=(
        Column("id", ("id",)),
        Column("name", ("name",)),
        Column("email", ("email",)),
        Column("phone", ("phone_number",)),
        Column("tags", ("labels",)),
        Column("created_at", ("created_at",)),
        Column("last_interaction_at", ("last_activity_at",)),
        Column("marketing_opt_out", ("blocked",)),
        # Its other columns are attributes as they are named, without synonyms (SPEC §8): a
        # contact has no language unless --map says so; country_code stays an attribute.
        Column("country_code", ("country_code",)),
        Column("last_name", ("last_name",)),
        Column("middle_name", ("middle_name",)),
        Column("identifier", ("identifier",)),
    ),
    timezone="UTC",
    description="Chatwoot contacts export (with or without a byte-order mark)",
    builtin=True,
    hashes=("custom_attributes", "additional_attributes"),
)

HUBSPOT = Profile(
    "hubspot",
    columns=(
        Column("id", ("Record ID",)),
        Column("name", ("First Name", "Last Name"), "join"),
        Column("email", ("Email",)),
        Column("phone", ("Phone Number", "Mobile Phone Number"), "first"),
        Column("country", ("Country/Region",)),
        Column("language", ("Preferred language",)),
        Column("created_at", ("Create Date",)),
        Column("last_interaction_at", ("Last Activity Date",)),
        Column("marketing_opt_out", ("Unsubscribed from all email",)),
    ),
    description="HubSpot contacts export (naive times are in the zone in force)",
    builtin=True,
)

MAILCHIMP = Profile(
    "mailchimp",
    columns=(
        Column("email", ("Email Address", "Email")),
        Column("name", ("First Name", "Last Name"), "join"),
        Column("phone", ("Phone Number",)),
        Column("country", ("CC",)),
        Column("created_at", ("OPTIN_TIME", "CONFIRM_TIME"), "first"),
        Column("tags", ("TAGS",), parse="tags"),
        Column("LAST_CHANGED", ("LAST_CHANGED",)),  # an attribute: not an interaction (SPEC §8)
    ),
    key=("email",),
    timezone="UTC",
    description="Mailchimp audience export: subscribed, unsubscribed or cleaned",
    builtin=True,
    file_consent=(("UNSUB_", True), ("CLEAN_", True)),
    consent_default=False,
)

BUILT_IN: dict[str, Profile] = {p.name: p for p in (AUTO, SHOPIFY, CHATWOOT, HUBSPOT, MAILCHIMP)}
