"""Deterministic world generation: the same seed always gives the same world."""

from __future__ import annotations

import datetime as dt
import random
import string

from smp.simulator import names
from smp.simulator.daily import (
    SUBUSER_SCALE,
    account_scale,
    days_between,
    month_start,
    monthly_credits,
    requests_since,
    utc_today,
)
from smp.simulator.scopes import (
    KEY_KINDS,
    TEAMMATE_SCOPE_POOL,
    admin_teammate_scopes,
    scopes_for_kind,
    two_factor_flag,
)
from smp.simulator.world import (
    AccessActivity,
    Account,
    AllowedIp,
    Invoice,
    PendingInvite,
    Profile,
    SimKey,
    SsoCertificate,
    SsoIntegration,
    Subuser,
    SubuserAccess,
    Teammate,
    ValidationJob,
    World,
)

KEY_ALPHABET = string.ascii_letters + string.digits + "_-"
INVITE_LIFETIME_S = 7 * 86400


def _epoch(day: dt.date) -> int:
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(moment.timestamp())


class _Generator:
    def __init__(self, seed: int, today: dt.date) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = today
        self.used_usernames: set[str] = set()
        self.used_key_ids: set[str] = set()
        self.next_user_id = 1_000_000 + self.rng.randint(0, 8_000_000)

    def user_id(self) -> int:
        self.next_user_id += self.rng.randint(1, 5000)
        return self.next_user_id

    def unique_username(self, base: str) -> str:
        candidate, suffix = base, 1
        while candidate in self.used_usernames:
            suffix += 1
            candidate = f"{base}{suffix}"
        self.used_usernames.add(candidate)
        return candidate

    def person(self) -> tuple[str, str, str]:
        first = self.rng.choice(names.FIRST_NAMES)
        last = self.rng.choice(names.LAST_NAMES)
        base = f"{names.ascii_slug(first)}.{names.ascii_slug(last)}"
        return first, last, self.unique_username(base)

    def token(self, length: int, alphabet: str = KEY_ALPHABET) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def key(self, account: str, kind: str) -> SimKey:
        key_id = self.token(22)
        while key_id in self.used_key_ids:
            key_id = self.token(22)
        self.used_key_ids.add(key_id)
        return SimKey(
            account=account,
            kind=kind,  # type: ignore[arg-type]
            key=f"SG.{key_id}.{self.token(43)}",
            key_id=key_id,
            name=f"{kind} key ({account})",
            scopes=scopes_for_kind(kind),
        )


def _teammate(
    gen: _Generator, domain: str, profile: Profile, user_type: str
) -> Teammate:
    first, last, username = gen.person()
    is_admin = user_type in ("owner", "admin")
    scopes = (
        admin_teammate_scopes()
        if is_admin
        else sorted(gen.rng.sample(TEAMMATE_SCOPE_POOL, gen.rng.randint(1, 5)))
    )
    return Teammate(
        username=username,
        email=f"{username}@{domain}",
        first_name=first,
        last_name=last,
        user_type=user_type,  # type: ignore[typeddict-item]
        is_admin=is_admin,
        is_sso=user_type != "owner" and gen.rng.random() < 0.3,
        phone=f"+1 555 {gen.rng.randint(1000000, 9999999)}",
        website="",
        company=profile["company"],
        address=profile["address"],
        address2="",
        city=profile["city"],
        state=profile["state"],
        zip=profile["zip"],
        country=profile["country"],
        scopes=scopes,
    )


def _invoices(gen: _Generator, count: int, paid: bool, base: int) -> list[Invoice]:
    invoices: list[Invoice] = []
    for back in range(count, 0, -1):
        period_start = month_start(gen.today, back)
        period_end = month_start(gen.today, back - 1) - dt.timedelta(days=1)
        issued = period_end + dt.timedelta(days=1)
        amount = round(gen.rng.uniform(19.95, 899.0), 2) if paid else 0.0
        unpaid = amount if back == 1 and gen.rng.random() < 0.5 else 0.0
        invoices.append(
            Invoice(
                id=f"inv_{gen.token(16, string.ascii_lowercase + string.digits)}",
                invoice_number=f"SG{issued:%Y%m}-{base + back:05d}",
                date=issued.isoformat(),
                due_date=(issued + dt.timedelta(days=15)).isoformat(),
                period_start=period_start.isoformat(),
                period_end=period_end.isoformat(),
                status="unpaid" if unpaid else "paid",
                amount=amount,
                currency="USD",
                balance=unpaid,
                unpaid_balance=unpaid,
            )
        )
    return invoices


def _account(gen: _Generator, index: int, sizes: dict[str, int]) -> Account:
    rng, today = gen.rng, gen.today
    company = names.COMPANIES[index % len(names.COMPANIES)]
    domain = f"{names.ascii_slug(company.split()[0])}{index}.example"
    city, state, zip_code, country = rng.choice(names.CITIES)
    # Every third account is on the free plan, which allows no extra teammates.
    paid = index % 3 != 2
    owner_first, owner_last, _ = gen.person()
    profile = Profile(
        first_name=owner_first,
        last_name=owner_last,
        company=company,
        address=f"{rng.randint(1, 200)} Main Street",
        address2="",
        city=city,
        state=state,
        zip=zip_code,
        country=country,
        phone=f"+1 555 {rng.randint(1000000, 9999999)}",
        website=f"https://www.{domain}",
    )
    username = gen.unique_username(f"{names.ascii_slug(company.split()[0])}{index}")
    teammates = [_teammate(gen, domain, profile, "owner")]
    for position in range(1, sizes["teammates"] if paid else 1):
        user_type = "admin" if position % 6 == 1 else "teammate"
        teammates.append(_teammate(gen, domain, profile, user_type))
    # The owner's names are the account profile's names.
    teammates[0]["first_name"], teammates[0]["last_name"] = owner_first, owner_last
    teammates[0]["username"], teammates[0]["email"] = username, f"owner@{domain}"
    for position, mate in enumerate(teammates):
        mate["scopes"] = sorted([*mate["scopes"], two_factor_flag(position)])

    pending: list[PendingInvite] = []
    for number in range(sizes["pending"]):
        # Every third invite is older than its 7-day lifetime, so it has expired.
        age_days = (number % 3) * 4 + rng.uniform(0.0, 2.5)
        # Sent before the world's day began, so never in the future.
        created = _epoch(today) - int(age_days * 86400)
        pending.append(
            PendingInvite(
                email=f"invitee{number + 1}@{domain}",
                scopes=sorted(rng.sample(TEAMMATE_SCOPE_POOL, 2)),
                is_admin=number == 0,
                token=gen.token(32, string.ascii_lowercase + string.digits),
                expiration_date=created + INVITE_LIFETIME_S,
            )
        )

    total = rng.choice([40_000, 100_000, 300_000]) if paid else 3_000
    first_day = month_start(today, sizes["months"] - 1)
    scale = account_scale(gen.seed, username, total)
    daily = days_between(gen.seed, username, first_day, today, scale)
    subusers = [
        _subuser(gen, domain, first_day)
        for _ in range(sizes["subusers"] if paid else 0)  # subusers are Pro+
    ]
    access: dict[str, list[SubuserAccess]] = {}
    for mate in teammates:
        if mate["is_admin"]:
            access[mate["username"]] = [
                SubuserAccess(subuser_id=s.id, permission_type="admin", scopes=[])
                for s in subusers
            ]
        elif subusers and rng.random() < 0.5:
            chosen = sorted(
                rng.sample(subusers, rng.randint(1, len(subusers))), key=lambda s: s.id
            )
            access[mate["username"]] = [
                SubuserAccess(
                    subuser_id=s.id,
                    permission_type="restricted",
                    scopes=sorted(rng.sample(TEAMMATE_SCOPE_POOL, 2)),
                )
                for s in chosen
            ]
    jobs = [_validation_job(gen) for _ in range(rng.randint(0, 3))]
    # Its own random stream: the draws above, and so every world, stay as they were.
    posture = random.Random(f"{gen.seed}:{username}:access")
    if index == 0 and paid and not jobs:
        # The first account always shows each kind of data SMP reads.
        jobs.append(_validation_job(gen, posture))
    for job in jobs:
        _job_details(posture, job)
    return Account(
        username=username,
        user_id=gen.user_id(),
        type="paid" if paid else "free",
        email=f"owner@{domain}",
        reputation=round(rng.uniform(85.0, 100.0), 1),
        profile=profile,
        credits=monthly_credits(total, daily, today),
        teammates=teammates,
        pending=pending,
        subusers=subusers,
        subuser_access=access,
        daily_stats=daily,
        invoices=_invoices(gen, sizes["invoices"], paid, rng.randint(100, 9000)),
        validation_jobs=jobs,
        sso_integrations=_sso(posture, today, domain, always=index == 0)
        if paid
        else [],
        # Every other account has no allowlist at all.
        ip_allowlist=_allowlist(posture, today) if index % 2 == 0 else [],
        access_activity=_activity(posture, today, index),
    )


def _subuser(gen: _Generator, domain: str, first_day: dt.date) -> Subuser:
    first, last, _ = gen.person()
    username = gen.unique_username(f"{names.ascii_slug(last)}-sub")
    daily = days_between(gen.seed, username, first_day, gen.today, SUBUSER_SCALE)
    used = requests_since(daily, month_start(gen.today))
    total = max(used, 50_000)
    return Subuser(
        id=gen.user_id(),
        username=username,
        email=f"{username}@{domain}",
        disabled=gen.rng.random() < 0.2,
        region=gen.rng.choice(["global", "global", "eu"]),
        first_name=first,
        last_name=last,
        credits={
            "type": "recurring",
            "reset_frequency": "monthly",
            "remain": total - used,
            "total": total,
            "used": used,
        },
        daily_stats=daily,
    )


def _validation_job(gen: _Generator, rng: random.Random | None = None) -> ValidationJob:
    rng = rng or gen.rng
    started = _epoch(gen.today) - rng.randint(1, 60) * 86400
    return ValidationJob(
        id="".join(rng.choice(string.hexdigits.lower()[:16]) for _ in range(36)),
        status=rng.choice(["Done", "Done", "Processing", "Error"]),
        started_at=started,
        finished_at=started + rng.randint(60, 7200),
    )


def _job_details(rng: random.Random, job: ValidationJob) -> None:
    """Segments (1,500 addresses each) once a job is processing or done."""
    if job["status"] in ("Done", "Processing"):
        job["segments"] = rng.randint(1, 40)
        done = job["status"] == "Done"
        job["segments_processed"] = (
            job["segments"] if done else rng.randint(0, job["segments"])
        )
    else:
        job["segments"] = job["segments_processed"] = 0
    if job["status"] == "Error":
        job["errors"] = [{"message": "The uploaded file could not be read."}]


def _sso(
    rng: random.Random, today: dt.date, domain: str, *, always: bool
) -> list[SsoIntegration]:
    """Paid accounts: none, or one SAML integration whose newest certificate
    expires within 1 to 400 days (so some within SMP's 30-day warning)."""
    if rng.random() < 0.25 and not always:
        return []
    sso_id = "-".join(
        "".join(rng.choice("0123456789abcdef") for _ in range(n))
        for n in (8, 4, 4, 4, 12)
    )
    now = _epoch(today)
    certificates = []
    for number in range(rng.randint(1, 2)):
        not_after = now + rng.randint(1, 400) * 86400 - number * 200 * 86400
        certificates.append(
            SsoCertificate(
                id=rng.randint(10_000_000, 99_999_999),
                public_certificate="MIIC"
                + "".join(rng.choice("ABCDEFabcdef0123") for _ in range(40)),
                not_before=not_after - 3 * 365 * 86400,
                not_after=not_after,
            )
        )
    return [
        SsoIntegration(
            id=sso_id,
            name=f"{domain} IdP",
            enabled=rng.random() < 0.8,
            signin_url=f"https://idp.{domain}/sso/saml",
            signout_url=f"https://idp.{domain}/logout",
            entity_id=f"https://idp.{domain}/entity",
            completed_integration=True,
            last_updated=now - rng.randint(1, 300) * 86400,
            certificates=certificates,
        )
    ]


def _allowlist(rng: random.Random, today: dt.date) -> list[AllowedIp]:
    created = _epoch(today) - rng.randint(30, 900) * 86400
    return [
        AllowedIp(
            id=number + 1,
            ip=f"203.0.113.{rng.randint(1, 254)}/32",
            created_at=created,
            updated_at=created + rng.randint(0, 20) * 86400,
        )
        for number in range(rng.randint(1, 3))
    ]


def _activity(rng: random.Random, today: dt.date, index: int) -> list[AccessActivity]:
    """Recent access per IP: most seen for months, some new in the last days."""
    now = _epoch(today)
    attempts = []
    for number in range(rng.randint(2, 6)):
        first = now - rng.randint(0, 120) * 86400 - rng.randint(0, 86399)
        last = min(now, first + rng.randint(0, 60) * 86400)
        city, state, _, country = rng.choice(names.CITIES)
        attempts.append(
            AccessActivity(
                allowed=rng.random() < 0.85,
                auth_method=rng.choice(["Web", "Web", "API", "SSO"]),
                first_at=first,
                ip=f"198.51.{index % 250}.{number + 10}",
                last_at=last,
                location=f"{city}, {state}, {country}",
            )
        )
    return attempts


def generate_world(
    seed: int = 1,
    *,
    accounts: int = 2,
    teammates: int = 30,
    pending: int = 3,
    subusers: int = 3,
    months: int = 6,
    invoices: int = 6,
    today: dt.date | str | None = None,
    invoice_format: str = "spec",
) -> World:
    """Build a world from `seed` as it stands on `today` (default: the UTC date).

    `teammates` counts the owner too. People, keys and each day's figures depend
    on the seed alone; the date sets which days, invites and periods exist.
    """
    day = dt.date.fromisoformat(today) if isinstance(today, str) else today
    gen = _Generator(seed, day or utc_today())
    sizes = {
        "teammates": max(1, teammates),
        "pending": max(0, pending),
        "subusers": max(0, subusers),
        "months": max(1, months),
        "invoices": max(0, invoices),
    }
    built = [_account(gen, index, sizes) for index in range(max(1, accounts))]
    keys = [gen.key(a.username, kind) for a in built for kind in KEY_KINDS]
    return World(
        seed=seed,
        today=gen.today.isoformat(),
        invoice_format=invoice_format,  # type: ignore[arg-type]
        accounts=built,
        keys=keys,
    )
