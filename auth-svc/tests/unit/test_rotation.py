from auth_svc.domain.sessions import PresentedRefresh, Rotation, SessionState, decide_rotation

SESSION = SessionState(
    session_id="s1",
    user_id="u1",
    created_at=1.0,
    last_refreshed_at=2.0,
    refresh_jti="current",
    family="root",
)


def presented(token_id: str, user_id: str = "u1", session_id: str = "s1") -> PresentedRefresh:
    return PresentedRefresh(user_id=user_id, session_id=session_id, token_id=token_id)


def test_the_current_refresh_token_rotates() -> None:
    assert decide_rotation(SESSION, presented("current")) is Rotation.ROTATE


def test_a_retired_refresh_token_is_reuse() -> None:
    assert decide_rotation(SESSION, presented("older")) is Rotation.REUSED


def test_a_token_of_another_user_is_reuse() -> None:
    assert decide_rotation(SESSION, presented("current", user_id="u2")) is Rotation.REUSED


def test_a_token_for_another_session_is_reuse() -> None:
    assert decide_rotation(SESSION, presented("current", session_id="s2")) is Rotation.REUSED


def test_no_session_means_it_ended() -> None:
    assert decide_rotation(None, presented("current")) is Rotation.ENDED
