"""`smp people list|show|accounts|domains|link|unlink`: reading the directory and
the accounts' classifications, and what an admin adds to them.

The CLI has no SMP users: whoever runs it is the operator, so it may change
domains and links. Tables on a terminal; `--json` gives the shapes of
docs/cli.md. Each change reclassifies before the command ends: a domain
change every account, a link or unlink the accounts on that e-mail.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from smp.cli.opening import console, open_runtime, print_json, user_errors
from smp.cli.views import data_table
from smp.model.people import Classification, Person, PersonStatus
from smp.services import people
from smp.services.people import ClassifiedAccount

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
EmailArg = Annotated[str, typer.Argument(help="The account's e-mail address.")]
DomainArg = Annotated[
    str, typer.Argument(help="A domain of the company, like example.com.")
]
# Who made a link from the command line (the CLI has no SMP users).
CLI_ACTOR = "command line"
NO_DIRECTORY = (
    "No directory yet: import one with `smp people import FILE`, or push it over "
    "SCIM (`smp people scim-token`)."
)

PEOPLE_COLUMNS = [
    "id",
    "email",
    "name",
    "employee_id",
    "department",
    "status",
    "type",
    "source",
]
ACCOUNT_COLUMNS = [
    "integration",
    "kind",
    "email",
    "username",
    "role",
    "status",
    "person",
    "classification",
    "matched_by",
]

domains_app = typer.Typer(
    help="The company's domains: accounts on them with no person are unknown_internal.",
    no_args_is_help=True,
)


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def _name(person: Person) -> str:
    """The person's name, or '' (display_name falls back to the e-mail)."""
    return person.display_name if person.first_name or person.last_name else ""


def _person_row(person: Person) -> dict[str, Any]:
    return {
        **people.person_json(person),
        # Ids as written, not as counts with separators.
        "id": str(person.id),
        "name": _name(person),
    }


def _lag(seconds: int | None) -> str:
    """An offboarding lag a person reads at a glance: minutes, hours or days."""
    if seconds is None:
        return ""
    if seconds < 3600:
        return f"{seconds // 60:,} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


def _minute(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _day(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d}"


def _account_row(account: ClassifiedAccount) -> dict[str, Any]:
    person = "" if account.person_id is None else str(account.person_id)
    if account.person_status is not None:
        person += f" ({account.person_status.value})"
    return {
        **people.account_json(account),
        "person": person,
        "matched_by": account.matched_by.value if account.matched_by else "",
        "leaver since": _day(account.leaver_since),
        "removed": _day(account.removed_at),
        "offboarding lag": _lag(account.offboarding_lag_s),
    }


def list_people(
    status: Annotated[
        PersonStatus | None, typer.Option(help="Only people with this status.")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(help="Text in the name, e-mail, employee id or department."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The directory's people, by e-mail."""
    runtime = open_runtime()
    with user_errors():
        page = people.list_people(
            runtime.engine, status=status, search=search, limit=None
        )
        summary = None if page.total else people.directory_summary(runtime.engine)
    if as_json:
        print_json([people.person_json(p) for p in page.items])
        return
    if summary is not None and not summary.has_directory:
        _say(NO_DIRECTORY)
        return
    rows = [_person_row(p) for p in page.items]
    console.print(data_table("People", rows, PEOPLE_COLUMNS))
    _say(f"{page.total:,} {'person' if page.total == 1 else 'people'}")


def show(
    id_or_email: Annotated[
        str, typer.Argument(help="The person's id, or their primary e-mail.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """One person and their accounts in every integration, removed ones too."""
    runtime = open_runtime()
    with user_errors():
        detail = people.person_detail(runtime.engine, id_or_email)
    if as_json:
        print_json(people.person_detail_json(detail))
        return
    person = detail.person
    who = f"{_name(person)} <{person.email}>" if _name(person) else person.email
    _say(f"{who}, person {person.id}")
    facts = {
        "status": person.status.value,
        "type": person.type.value,
        "employee id": person.employee_id,
        "department": person.department,
        "manager": person.manager_email,
        "aliases": ", ".join(person.aliases),
        "source": person.source,
        "start date": person.start_date,
        "end date": person.end_date,
        "terminated (as SMP learnt)": _minute(person.terminated_at),
    }
    for name, value in facts.items():
        if value:
            _say(f"  {name}: {value}")
    if not detail.accounts:
        _say("No SendGrid account is matched to this person.")
        return
    columns = [c for c in ACCOUNT_COLUMNS if c != "person"]
    columns += ["leaver since", "removed", "offboarding lag"]
    rows = [_account_row(a) for a in detail.accounts]
    console.print(data_table(f"Accounts of {person.display_name}", rows, columns))


def accounts(
    integration: Annotated[
        str | None, typer.Option(help="Only this integration (name or id).")
    ] = None,
    classification: Annotated[
        Classification | None, typer.Option(help="Only accounts classified so.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """SendGrid accounts still listed, with their person and classification."""
    runtime = open_runtime()
    with user_errors():
        page = people.list_accounts(
            runtime.engine,
            integration=integration,
            classification=classification,
            limit=None,
        )
    if as_json:
        print_json([people.account_json(a) for a in page.items])
        return
    rows = [_account_row(a) for a in page.items]
    console.print(data_table("Accounts", rows, ACCOUNT_COLUMNS))
    _say(f"{page.total:,} account{'' if page.total == 1 else 's'}")


@domains_app.command("add")
def add_domain(domain: DomainArg) -> None:
    """Name a company domain; its accounts with no person become unknown_internal."""
    runtime = open_runtime()
    with user_errors():
        change = people.add_domain(runtime.engine, domain, now=runtime.context.now())
    if change.changed:
        _say(f"Added company domain {change.domain}")
    else:
        _say(f"{change.domain} is already a company domain")


@domains_app.command("list")
def list_domains(as_json: JsonFlag = False) -> None:
    """The company's domains."""
    runtime = open_runtime()
    with user_errors():
        found = people.list_domains(runtime.engine)
    rows = [{"domain": d.domain, "created_at": d.created_at.isoformat()} for d in found]
    if as_json:
        print_json(rows)
    elif not rows:
        _say("No company domain yet: add one with `smp people domains add DOMAIN`.")
    else:
        console.print(data_table("Company domains", rows, ["domain", "created_at"]))


@domains_app.command("remove")
def remove_domain(domain: DomainArg) -> None:
    """Forget a company domain; its accounts with no person become external."""
    runtime = open_runtime()
    with user_errors():
        change = people.remove_domain(runtime.engine, domain, now=runtime.context.now())
    _say(f"Removed company domain {change.domain}")


def link(
    email: EmailArg,
    person_id: Annotated[
        int, typer.Argument(help="The person's id (see `smp people list`).")
    ],
) -> None:
    """Link an account e-mail to a person; it wins over matching by e-mail."""
    runtime = open_runtime()
    with user_errors():
        change = people.link_account(
            runtime.engine,
            email,
            person_id,
            actor=CLI_ACTOR,
            now=runtime.context.now(),
        )
    was = f" (was person {change.previous})" if change.previous else ""
    _say(f"Linked {change.email} to person {change.person_id}{was}")
    if change.accounts:
        many = change.accounts > 1
        noun, verb = ("accounts", "belong") if many else ("account", "belongs")
        _say(f"{change.accounts:,} {noun} with this e-mail now {verb} to them.")
    else:
        _say("No account has this e-mail yet: the link applies when a sync finds one.")


def unlink(email: EmailArg) -> None:
    """Remove an e-mail's manual link; its accounts are matched by e-mail again."""
    runtime = open_runtime()
    with user_errors():
        change = people.unlink_account(runtime.engine, email, now=runtime.context.now())
    _say(f"Unlinked {change.email} from person {change.person_id}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `smp people`."""
    app.command("list")(list_people)
    app.command("show")(show)
    app.command("accounts")(accounts)
    app.add_typer(domains_app, name="domains")
    app.command("link")(link)
    app.command("unlink")(unlink)
