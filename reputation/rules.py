"""The one table of reputation rules: points, the daily cap, ranks, badges,
engagement levels, the social value weights and the (private) fraud thresholds.

Every value has a default here and can be overridden from the app config
(``REPUTATION_POINTS = {"kudos_received": 10}``, ``REPUTATION_RANKS = [...]``,
...; the environment's ``PARLEY_REPUTATION_*`` JSON works too). The public
"how reputation works" page is generated from these same values, except
``REPUTATION_FRAUD``, which stays private.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

# rule key -> (points, what earns them, capped by the daily cap)
POINTS = {
    "answer_accepted": 15,
    "accepted_an_answer": 2,
    "kudos_received": 5,
    "idea_vote_received": 2,
    "idea_delivered": 50,
    "first_reply": 2,
}
RULE_TEXT = {
    "answer_accepted": "Your reply is accepted as the solution to a question",
    "accepted_an_answer": "You accept someone's answer to your own question",
    "kudos_received": "Someone gives kudos to your post",
    "idea_vote_received": "Someone votes for your idea",
    "idea_delivered": "Your idea is delivered",
    "first_reply": "You give the first reply to someone's unanswered question",
}
CAPPED = ("kudos_received", "idea_vote_received")
DAILY_CAP = 200

RANKS = [
    (0, "Newcomer"),
    (50, "Contributor"),
    (250, "Regular"),
    (1000, "Expert"),
    (5000, "Champion"),
    (20000, "Legend"),
]

# key -> (name, criterion shown on the public page)
BADGES = {
    "first_answer": ("First answer", "Reply to someone else's question for the first time"),
    "solutions_10": ("10 solutions", "10 of your answers accepted"),
    "solutions_100": ("100 solutions", "100 of your answers accepted"),
    "solutions_1000": ("1000 solutions", "1,000 of your answers accepted"),
    "helpful": ("Helpful", "50 kudos received"),
    "idea_delivered": ("Idea delivered", "One of your ideas was delivered"),
    "advisory_member": ("Advisory committee member", "Serve on a customer advisory committee"),
    "advisory_alumni": ("Advisory committee alumni", "Served a full advisory committee term"),
    "streak_30": ("30-day streak", "Post on 30 days in a row"),
}
# Badges earned by a count (reputation/analytics.py MEASURES): badge -> (measure, at least).
BADGE_THRESHOLDS = {
    "solutions_10": ("accepted_answers", 10),
    "solutions_100": ("accepted_answers", 100),
    "solutions_1000": ("accepted_answers", 1000),
    "helpful": ("kudos_received", 50),
    "idea_delivered": ("ideas_delivered", 1),
}
STREAK_DAYS = 30

# Engagement levels (docs/reputation.md explains them).
ENGAGEMENT = {
    "window_days": 90,  # "recent" for committed and advocate
    "committed_contributions": 5,  # threads, replies and ideas in the window
}

# Social value: what each contribution is worth to the company, in CURRENCY;
# deflections are worth DEFLECTION_COST_PER_CASE each (the savings).
SOCIAL_VALUE = {
    "accepted_answer": 10.0,
    "solution_view": 0.10,
    "kudos_received": 1.0,
    "idea_delivered": 250.0,
    "advisory_space": 500.0,
    "advisory_post": 20.0,
}

# Private: never shown on the public page.
FRAUD = {
    "serial_votes": 6,  # kudos/votes from one member to another ...
    "serial_window_hours": 24,  # ... within this window
    "ring_account_age_days": 30,  # accounts younger than this may form a ring
    "ring_min_members": 3,
    "ring_min_votes": 6,  # votes exchanged inside the ring
    "ring_window_days": 14,
}


@dataclass(frozen=True)
class Rules:
    points: dict
    capped: tuple
    daily_cap: int
    ranks: list
    badges: dict
    badge_thresholds: dict
    streak_days: int
    engagement: dict
    social_value: dict
    fraud: dict

    def rank_for(self, points: int) -> str:
        name = self.ranks[0][1]
        for threshold, rank in self.ranks:
            if points >= threshold:
                name = rank
        return name

    def next_rank(self, points: int) -> tuple[int, str] | None:
        for threshold, rank in self.ranks:
            if points < threshold:
                return threshold, rank
        return None


def rules() -> Rules:
    """The live rules: defaults overridden by the app config."""
    cfg = current_app.config
    ranks = cfg.get("REPUTATION_RANKS") or RANKS
    return Rules(
        points={**POINTS, **(cfg.get("REPUTATION_POINTS") or {})},
        capped=tuple(cfg.get("REPUTATION_CAPPED") or CAPPED),
        daily_cap=int(cfg.get("REPUTATION_DAILY_CAP", DAILY_CAP)),
        ranks=sorted((int(t), str(n)) for t, n in ranks),
        badges=BADGES,
        badge_thresholds={**BADGE_THRESHOLDS, **(cfg.get("REPUTATION_BADGE_THRESHOLDS") or {})},
        streak_days=int(cfg.get("REPUTATION_STREAK_DAYS", STREAK_DAYS)),
        engagement={**ENGAGEMENT, **(cfg.get("REPUTATION_ENGAGEMENT") or {})},
        social_value={**SOCIAL_VALUE, **(cfg.get("REPUTATION_SOCIAL_VALUE") or {})},
        fraud={**FRAUD, **(cfg.get("REPUTATION_FRAUD") or {})},
    )
