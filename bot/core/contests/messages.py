"""What a member reads about a contest: refusals, vote answers, the rules, in one place.

Plain text (a bit of Markdown): no mentions, no Discord timestamps; the cog adds those where it
shows deadlines or authors, and sends anything that echoes member text with
`AllowedMentions.none()`.
"""

from __future__ import annotations

from bot.core.contests.domain import (
    TIE_RULE,
    Contest,
    Entry,
    EntryRefusal,
    Phase,
    VoteRefusal,
)
from bot.core.contests.durations import format_duration
from bot.core.domain import Job


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


def votes_left(left: int, budget: int) -> str:
    return f"You have {left} of {plural(budget, 'vote')} left."


def rules(contest: Contest) -> list[str]:
    """The rules for the announcement card, the tie rule included (deadlines are the cog's)."""
    lines = [
        f"Each member may enter {plural(contest.entries_per_member, 'video')} made with this "
        "bot after the contest opened.",
        "Entries stay hidden until submissions close; then they are all shown at once, in a "
        "shuffled order, without their authors.",
        f"Each member has {plural(contest.votes_per_member, 'vote')}, at most one per entry, "
        "and none for their own entry. Counts stay hidden until voting closes.",
    ]
    ages = []
    if contest.min_account_age:
        ages.append(f"a Discord account at least {format_duration(contest.min_account_age)} old")
    if contest.min_member_age:
        ages.append(f"at least {format_duration(contest.min_member_age)} in this server")
    if ages:
        lines.append("To vote you need " + " and ".join(ages) + ".")
    lines.append(TIE_RULE)
    return lines


def how_to_enter(contest: Contest) -> str:
    return (
        f"Enter with `/contest enter contest:{contest.number} job:<your job number>`, or make a "
        f"new video with `/video` and `contest:{contest.number}`."
    )


def phase_text(contest: Contest) -> str:
    return {
        Phase.SUBMISSIONS: "Submissions are open.",
        Phase.VOTING: "Submissions are closed; voting is open.",
        Phase.CLOSED: "This contest is over.",
        Phase.CANCELLED: "This contest was cancelled.",
    }[contest.phase]


def not_accepting(contest: Contest) -> str:
    if contest.phase is Phase.CANCELLED:
        return f"{contest.label} was cancelled."
    if contest.phase is Phase.SUBMISSIONS:  # the deadline passed; the tick is on its way
        return f"Submissions for {contest.label} have closed."
    if contest.phase is Phase.VOTING:
        return f"Submissions for {contest.label} have closed; voting is open."
    return f"{contest.label} is over."


def entry_refusal(reason: EntryRefusal, contest: Contest, job: Job | None = None) -> str:
    job_label = f"Job #{job.id}" if job else "That job"
    limit = contest.entries_per_member
    return {
        EntryRefusal.NOT_YOURS: f"{job_label} isn't yours: you can only enter videos you made.",
        EntryRefusal.OTHER_SERVER: f"{job_label} wasn't made in this server.",
        EntryRefusal.NOT_DELIVERED: (
            f"{job_label} isn't a delivered video"
            + (f" (it is {job.status.value})" if job else "")
            + ": only finished videos can be entered."
        ),
        EntryRefusal.BEFORE_CONTEST: (
            f"{job_label} was made before {contest.label} opened: only videos made for the "
            "contest can be entered. Make a new one with /video."
        ),
        EntryRefusal.CLOSED: not_accepting(contest),
        EntryRefusal.LIMIT: (
            f"You already have {plural(limit, 'entry', 'entries')} in "
            f"{contest.label}, the most each member may enter. Withdraw one with "
            "/contest withdraw to enter another."
        ),
        EntryRefusal.ALREADY_ENTERED: f"{job_label} is already entered in {contest.label}.",
    }[reason]


def limit_at_acceptance(number: int, limit: int, entries: int, making: int) -> str:
    """/video contest:<n> refused in the accept transaction: entries plus videos being made."""
    label = f"Contest #{number}"
    have = []
    if entries:
        have.append(f"{plural(entries, 'entry', 'entries')} in {label}")
    if making:
        have.append(f"{plural(making, 'video')} being made for {'it' if entries else label}")
    return (
        f"You already have {' and '.join(have) or 'no room'}, and each member may enter "
        f"{plural(limit, 'video')}. Nothing was charged."
    )


def closed_at_acceptance(number: int | None) -> str:
    if number is None:
        return "That contest isn't taking entries. Nothing was charged."
    return f"Contest #{number} isn't taking entries any more. Nothing was charged."


def not_entered_after_delivery(contest: Contest, reason: EntryRefusal) -> str:
    """For the result of `/video contest:<n>` when entering it failed after delivery."""
    if reason is EntryRefusal.CLOSED and contest.phase is Phase.CANCELLED:
        return f"{contest.label} was cancelled while this video was being made."
    if reason is EntryRefusal.CLOSED:
        return (
            f"Submissions for {contest.label} closed while this video was being made, so it "
            "was not entered."
        )
    return f"This video was not entered in {contest.label}: " + entry_refusal(reason, contest)


def entered(contest: Contest, entry: Entry) -> str:
    return (
        f"Job #{entry.job_id} is entered in {contest.label}. It stays hidden until submissions "
        "close; then every entry is shown at once, without its author."
    )


def withdrawn(contest: Contest, entry: Entry) -> str:
    return f"Job #{entry.job_id} was withdrawn from {contest.label}."


def vote_refusal(
    reason: VoteRefusal, contest: Contest, entry: Entry | None = None, left: int | None = None
) -> str:
    what = entry.label if entry else "That entry"
    text = {
        VoteRefusal.NOT_VOTING: _not_voting(contest),
        VoteRefusal.ENTRY_GONE: f"{what} was disqualified, so it can't get votes.",
        VoteRefusal.OWN_ENTRY: f"{what} is your own: you can't vote for it.",
        VoteRefusal.BOT: "Bots can't vote.",
        VoteRefusal.ACCOUNT_TOO_NEW: (
            f"To vote in {contest.label} your Discord account must be at least "
            f"{format_duration(contest.min_account_age or 0)} old."
        ),
        VoteRefusal.MEMBER_TOO_NEW: (
            f"To vote in {contest.label} you must have been in this server for at least "
            f"{format_duration(contest.min_member_age or 0)}."
        ),
        VoteRefusal.BUDGET: (
            f"You have used all {plural(contest.votes_per_member, 'vote')} in {contest.label}. "
            "To move one, press Vote on an entry you voted for, then Take back."
        ),
    }[reason]
    if left is not None and reason in (VoteRefusal.OWN_ENTRY, VoteRefusal.ENTRY_GONE):
        text += " " + votes_left(left, contest.votes_per_member)
    return text


def _not_voting(contest: Contest) -> str:
    if contest.phase is Phase.SUBMISSIONS:
        return f"Voting in {contest.label} hasn't opened yet."
    if contest.phase is Phase.CANCELLED:
        return f"{contest.label} was cancelled."
    return f"Voting in {contest.label} has closed; the votes are final."


def vote_counted(contest: Contest, entry: Entry, left: int) -> str:
    return f"Your vote for {entry.label} is counted. " + votes_left(left, contest.votes_per_member)


def vote_already_counted(contest: Contest, entry: Entry, left: int) -> str:
    return (
        f"Your vote for {entry.label} was already counted; pressing again changes nothing. "
        + votes_left(left, contest.votes_per_member)
    )


def vote_taken_back(contest: Contest, entry: Entry, left: int) -> str:
    return f"Your vote for {entry.label} is taken back. " + votes_left(
        left, contest.votes_per_member
    )


def vote_not_there(contest: Contest, entry: Entry, left: int) -> str:
    return f"You had no vote on {entry.label} to take back. " + votes_left(
        left, contest.votes_per_member
    )


NO_SUCH_ENTRY = "That entry isn't part of a contest in this server."
NO_ENTRIES = "{label} has ended: nothing was entered, so there are no results."
REASON_NEEDED = "Give a reason: it is shown to members and written to the moderation log."


def no_entries(contest: Contest) -> str:
    return NO_ENTRIES.format(label=contest.label)


def which_entry(contest: Contest, entries: list[Entry]) -> str:
    jobs = ", ".join(f"Job #{e.job_id}" for e in entries)
    return (
        f"You have {len(entries)} entries in {contest.label} ({jobs}): say which one to "
        "withdraw with the job option."
    )


def no_entry_to_withdraw(contest: Contest, job_id: int | None) -> str:
    if job_id is not None:
        return f"Job #{job_id} is not entered in {contest.label}."
    return f"You have no entry in {contest.label}."


def too_many_open(limit: int) -> str:
    return (
        f"This server already has {limit} contests running, the most at once. Close or cancel "
        "one first."
    )


def phase_over(contest: Contest) -> str:
    return f"{contest.label} has already ended ({contest.phase.value}); there is nothing to close."


def cannot_cancel(contest: Contest) -> str:
    return f"{contest.label} has already ended ({contest.phase.value}); it can't be cancelled."


def moved_on(contest: Contest) -> str:
    return f"{contest.label} moved on to its next phase just now; look again."


def no_results(contest: Contest) -> str:
    if contest.phase is Phase.CANCELLED:
        return f"{contest.label} was cancelled, so it has no results."
    return f"{contest.label} has no results yet: voting hasn't closed."


def disqualify_when(contest: Contest) -> str:
    if contest.phase is Phase.SUBMISSIONS:
        return (
            f"Entries in {contest.label} get their numbers when submissions close; they can "
            "be disqualified once voting is open."
        )
    return f"{contest.label} is over ({contest.phase.value}); its results are final."


def no_entry_number(contest: Contest, number: int) -> str:
    return f"{contest.label} has no Entry {number}."


def already_disqualified(entry: Entry) -> str:
    return f"{entry.label} was already disqualified ({entry.disqualify_reason})."
