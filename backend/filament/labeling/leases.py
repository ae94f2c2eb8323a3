"""Who holds which item, and who has labeled it: the claim protocol behind the queue.

The invariant: no item ever has more than k distinct annotators (people who labeled it or hold
a live lease on it), where k is the number the item wants (`annotations_per_item`, or two for
an item of the overlap share: `filament.labeling.overlap`), and nobody is served an item they
have labeled; across any number of API processes, under any interleaving of queue requests,
annotations, undos, suggestion reviews and lease expiry.

Sources of truth
- **Done** is the database: the `annotation` rows of an item (one per user at most, by a
  unique constraint).
- **Taken** is Redis: one hash per item, `filament:item:{project}:{item}`, field = user id,
  value = `h<expiry>` for a lease (a *hold*) or `d<expiry>` for a *done mark*: "this user has
  labeled the item (or is committing that label right now)". Expired fields are ignored and
  dropped.

Everything else (the per-process caches of finished items, the per-user lease index, the
project's set of held items) only steers which candidates are tried; none of it can hand out
an item, so none of it needs to be fresh.

The two atomic steps (Lua scripts, so each is one indivisible Redis operation)
- `claim`: for each candidate, with the item's annotators as read from the database at Redis
  time `t_read`: refuse if the caller labeled it (in the database or by a done mark); count the
  other distinct users (database annotators, live holds and done marks); take a hold if
  that count is below k (or renew the caller's own hold). The script refuses the whole call if
  `now - t_read` exceeds `DONE_MARK_SECONDS`.
- `mark_done`, called twice by every annotation: once *before* the database commit and once
  right after it. Each sets the caller's field to a done mark lasting `DONE_MARK_SECONDS`.

Why a stale view can never hand an item out: take an annotation by A committed at `t_a` and a
claim by B deciding at `t_c` on a database read made at `t_read` (t_read < t_c, and
t_c - t_read <= DONE_MARK_SECONDS or the claim is refused).
- t_read > t_a: B's read sees A's row.
- t_read < t_a: A's first mark was set before t_a. If t_c is after it, B sees A's mark: the
  second mark (set after t_a) lasts until after t_a + DONE_MARK_SECONDS > t_read +
  DONE_MARK_SECONDS >= t_c. If t_c is before A's first mark, A had no live hold at t_c (or B
  would have counted it): A's lease had expired, A's late annotation then finds B's hold and
  reports that it went beyond k — the one case the protocol cannot prevent, and says so.
- Undo deletes the row first and the mark after: in between the item looks one annotator
  fuller than it is, which only delays serving it.
- A skip drops the caller's hold (`release`, one script, holds only, never a done mark): a
  claim after it counts one annotator fewer, exactly as after the hold's expiry, only sooner.
So every decision counts every annotator and every live hold, and no two holds exceed k: each
is taken inside the script, which sees all the others.

If Redis loses its data (a restart without persistence), holds are lost (two people may then
get the same unlabeled item once), but done items stay done: the database says so.
"""

import time
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from redis import Redis
from sqlmodel import Session, col, select

from filament.db.models import Annotation, Project
from filament.labeling import overlap

DONE_MARK_SECONDS = 60  # longer than any request takes between its database read and its claim

# Shared by both scripts: Redis's clock, and for one item hash the number of *other* people who
# labeled it (`db`: its database annotators as ",1,5,") or hold a live field on it, and the
# caller's own live mark ('h', 'd' or nil). Expired fields are dropped on the way.
_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function count(key, user, db)
  local _, commas = string.gsub(db, ',', '')
  local others, mine = math.max(commas - 1, 0), nil
  local fields = redis.call('HGETALL', key)
  for j = 1, #fields, 2 do
    local who, mark = fields[j], fields[j + 1]
    if tonumber(string.sub(mark, 2)) <= now then
      redis.call('HDEL', key, who)
    elseif who == user then
      mine = string.sub(mark, 1, 1)
    elseif not string.find(db, ',' .. who .. ',', 1, true) then
      others = others + 1
    end
  end
  return others, mine
end
local function put(key, user, mark, seconds)
  redis.call('HSET', key, user, mark .. string.format('%.3f', now + seconds))
  if redis.call('PTTL', key) < seconds * 1000 then redis.call('PEXPIRE', key, seconds * 1000) end
end
"""

# KEYS: the items' hashes. ARGV: user, the number of items n, lease seconds, most to win,
# t_read, the bound on now - t_read, then per item its database annotators, then per item its
# k. Returns the 1-based positions won (own holds renewed count as won), or {-1} when t_read is
# too old.
_CLAIM = (
    _COUNT
    + """
if now - tonumber(ARGV[5]) > tonumber(ARGV[6]) then return {-1} end
local user, n, lease, most = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local won = {}
for i, key in ipairs(KEYS) do
  if #won >= most then break end
  local db, k = ARGV[6 + i], tonumber(ARGV[6 + n + i])
  if not string.find(db, ',' .. user .. ',', 1, true) then
    local others, mine = count(key, user, db)
    if mine ~= 'd' and (mine == 'h' or others < k) then
      put(key, user, 'h', lease)
      won[#won + 1] = i
    end
  end
end
return won
"""
)

# KEYS: the items' hashes. ARGV: user, mark seconds, then per item its other database
# annotators. Returns per item how many other people label or hold it.
_MARK_DONE = (
    _COUNT
    + """
local user, seconds = ARGV[1], tonumber(ARGV[2])
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = count(key, user, ARGV[2 + i])
  put(key, user, 'd', seconds)
end
return counts
"""
)


# KEYS: the item's hash. ARGV: user. Drops the user's field if it is a hold, never a done mark
# (a hold ending early only frees a slot sooner; a done mark must outlive the read it guards).
# Returns 1 if a hold was released.
_RELEASE = """
local mark = redis.call('HGET', KEYS[1], ARGV[1])
if mark and string.sub(mark, 1, 1) == 'h' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


def item_key(project_id: int, item_id: int) -> str:
    return f"filament:item:{project_id}:{item_id}"


def leases_key(project_id: int, user_id: int) -> str:
    """The user's leases by expiry: an index for "your own items first", not a truth."""
    return f"filament:leases:{project_id}:{user_id}"


def held_key(project_id: int) -> str:
    """Items someone holds, by expiry: steers picks away from them (k = 1) or towards them
    (k > 1: they need another annotator); never decides."""
    return f"filament:held:{project_id}"


def annotators_of(session: Session, item_ids: Iterable[int]) -> dict[int, list[int]]:
    """Who has labeled each item, by the database."""
    ids = list(item_ids)
    found: dict[int, list[int]] = defaultdict(list)
    if ids:
        for item_id, user_id in session.exec(
            select(Annotation.item_id, Annotation.user_id).where(col(Annotation.item_id).in_(ids))
        ):
            found[item_id].append(user_id or 0)
    return found


def _listed(user_ids: Iterable[int]) -> str:
    return "," + "".join(f"{user_id}," for user_id in user_ids)


def claim(
    redis: Redis, session: Session, project: Project, user_id: int, item_ids: list[int], most: int
) -> list[int]:
    """Hold up to `most` of `item_ids` for the user (in their order; their own live holds are
    renewed and count), each for the project's lease time. Returns the items held."""
    # once each: a second copy would find the caller's fresh hold and "renew" it, serving the
    # item twice on one page (partly labeled items can also be held by someone else)
    item_ids = list(dict.fromkeys(item_ids))
    if not item_ids or most <= 0:
        return []
    project_id = project.id or 0
    seconds, micros = redis.time()
    t_read = seconds + micros / 1e6  # Redis's clock, before the database read
    session.commit()  # a fresh read: a snapshot taken earlier could miss recent annotations
    annotators = annotators_of(session, item_ids)
    won = redis.eval(
        _CLAIM,
        len(item_ids),
        *(item_key(project_id, item) for item in item_ids),
        user_id,
        len(item_ids),
        project.lease_seconds,
        most,
        f"{t_read:.3f}",
        DONE_MARK_SECONDS,
        *(_listed(annotators.get(item, [])) for item in item_ids),
        *overlap.wanted(project, np.array(item_ids, dtype=np.int64)).tolist(),
    )
    if won == [-1]:
        return []  # the database read is older than the marks last: try again next request
    held = [item_ids[position - 1] for position in won]
    _index(redis, project, user_id, held)
    return held


def _index(redis: Redis, project: Project, user_id: int, item_ids: list[int]) -> None:
    if not item_ids:
        return
    project_id = project.id or 0
    expires = dict.fromkeys(map(str, item_ids), time.time() + project.lease_seconds)
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(leases_key(project_id, user_id), expires)
    pipe.expire(leases_key(project_id, user_id), project.lease_seconds)
    pipe.zadd(held_key(project_id), expires)
    pipe.execute()


def mark_done(
    redis: Redis, project: Project, user_id: int, others: dict[int, list[int]]
) -> dict[int, int]:
    """Set the user's done mark on each item of `others` (item -> the other users who labeled
    it, from the database). Call it before committing the annotations and again after. Returns
    per item how many other people label or hold it: the item's k or more means this annotation
    goes beyond what it wants (the user's lease had expired and someone else took it)."""
    items = list(others)
    if not items:
        return {}
    counts = redis.eval(
        _MARK_DONE,
        len(items),
        *(item_key(project.id or 0, item) for item in items),
        user_id,
        DONE_MARK_SECONDS,
        *(_listed(others[item]) for item in items),
    )
    return dict(zip(items, counts, strict=True))


def end_leases(redis: Redis, project: Project, user_id: int, item_ids: list[int]) -> None:
    """After the user's annotations are committed: their leases on those items end."""
    if not item_ids:
        return
    pipe = redis.pipeline(transaction=False)
    pipe.zrem(leases_key(project.id or 0, user_id), *item_ids)
    pipe.zrem(held_key(project.id or 0), *item_ids)
    pipe.execute()


def release(redis: Redis, project: Project, user_id: int, item_id: int) -> bool:
    """The user passes the item up (a skip): their hold on it ends now instead of at its
    expiry. Safe under the protocol: it removes one of the holds a claim counts, so it can only
    make the item available sooner; a done mark is left alone. Returns whether a hold ended."""
    released = bool(redis.eval(_RELEASE, 1, item_key(project.id or 0, item_id), user_id))
    pipe = redis.pipeline(transaction=False)
    pipe.zrem(leases_key(project.id or 0, user_id), item_id)
    if released:  # the project's index is only a hint; end_leases drops items the same way
        pipe.zrem(held_key(project.id or 0), item_id)
    pipe.execute()
    return released


def forget_done(redis: Redis, project: Project, user_id: int, item_ids: list[int]) -> None:
    """After the user's annotations were deleted (undo), or failed to commit."""
    pipe = redis.pipeline(transaction=False)
    for item in item_ids:
        pipe.hdel(item_key(project.id or 0, item), str(user_id))
    pipe.execute()


def my_leases(redis: Redis, project: Project, user_id: int) -> list[int]:
    """The user's leases by the index, oldest first (`claim` confirms them)."""
    key = leases_key(project.id or 0, user_id)
    pipe = redis.pipeline(transaction=False)
    pipe.zremrangebyscore(key, "-inf", time.time())
    pipe.zrange(key, 0, -1)
    return [int(item) for item in pipe.execute()[1]]


def held_items(redis: Redis, project: Project) -> list[int]:
    """Items someone holds, by the index, oldest first."""
    key = held_key(project.id or 0)
    pipe = redis.pipeline(transaction=False)
    pipe.zremrangebyscore(key, "-inf", time.time())
    pipe.zrange(key, 0, -1)
    return [int(item) for item in pipe.execute()[1]]
