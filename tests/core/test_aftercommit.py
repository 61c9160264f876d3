"""Jobs and mail leave only after the commit; a rolled-back request enqueues nothing."""

from __future__ import annotations

from core import aftercommit
from services.mail import queue_mail
from workers import queues


def test_rolled_back_work_enqueues_nothing(rt, redis_clean):
    with rt.db.new_session() as s:
        queue_mail(s, "a@b.example", "Hello", "Body")
        assert aftercommit.pending(s)
        s.rollback()
    assert rt.queue(queues.MAIL).count == 0


def test_exception_in_unit_of_work_enqueues_nothing(rt, redis_clean):
    try:
        with rt.db.session_scope() as s:
            queue_mail(s, "a@b.example", "Hello", "Body")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert rt.queue(queues.MAIL).count == 0


def test_commit_enqueues_after_the_row_exists(db, rt, redis_clean):
    mail = queue_mail(db, "a@b.example", "Hello", "Body")
    assert rt.queue(queues.MAIL).count == 0  # nothing before the commit
    db.commit()
    q = rt.queue(queues.MAIL)
    assert q.count == 1
    assert q.jobs[0].id == f"mail-{mail.id}"
    assert q.jobs[0].args == (mail.id,)
