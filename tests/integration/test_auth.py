"""Login and logout through the form, with bad input answered, never a 500."""
import pytest

from ..conftest import csrf_token
from .. import factories


def test_login_with_mixed_case_email_and_logout(client, auth, users):
    user = users["ioc_operator"]
    response = auth.login(user.email.upper())
    assert response.status_code == 303 and response.headers["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200
    assert auth.logout().status_code == 303
    assert client.get("/inbox/").status_code == 302


def test_a_page_from_before_logout_cannot_post_for_whoever_logs_in_next(client, auth, users):
    """Logging out drops the session's CSRF secret: a form opened before cannot be sent
    on behalf of the next person to log in on that browser."""
    auth.login(users["ioc_operator"].email)
    old_token = csrf_token(client, "/inbox/")
    auth.logout()
    auth.login(users["agency_staff"].email)
    response = client.post("/inbox/views", data={"csrf_token": old_token, "name": "x", "query": ""})
    assert response.status_code == 400
    assert client.post("/inbox/views", data={"csrf_token": csrf_token(client, "/inbox/"), "name": "mine",
                                               "query": ""}).status_code == 303


@pytest.mark.parametrize(("email", "password"), [
    ("ioc_operator-nobody@test.example.com", factories.PASSWORD),  # unknown user
    ("not-an-email", "x"),  # malformed address
    ("", ""),  # nothing typed
    ("a" * 300 + "@x.vn", "p"),  # too long
])
def test_bad_login_is_refused_with_a_message_and_keeps_the_email(client, users, email, password):
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": password})
    assert response.status_code == 422
    assert 'class="error"' in response.text
    if email and len(email) < 100:
        assert f'value="{email}"' in response.text


def test_wrong_password_gives_a_localized_message(client, users):
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "email": users["admin"].email,
                                           "password": "wrong password"})
    assert response.status_code == 422
    assert "Sai e-mail hoặc mật khẩu" in response.text


def test_deactivated_user_cannot_log_in(client, users, auth):
    users["agency_staff"].active = False
    response = auth.login(users["agency_staff"].email)
    assert response.status_code == 422


def test_login_without_csrf_token_is_refused(client, users):
    response = client.post("/login", data={"email": users["admin"].email, "password": factories.PASSWORD})
    assert response.status_code == 400


def test_next_parameter_only_follows_local_paths(client, users):
    token = csrf_token(client)
    data = {"csrf_token": token, "email": users["admin"].email, "password": factories.PASSWORD,
            "next": "https://evil.example/"}
    response = client.post("/login", data=data)
    assert response.headers["Location"] == "/inbox/"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client)
    data.update(csrf_token=token, next="/admin/units")
    assert client.post("/login", data=data).headers["Location"] == "/admin/units"


def test_community_member_lands_on_assisted_reports(client, users, auth):
    response = auth.login(users["community_member"].email)
    assert response.headers["Location"] == "/community/"


def test_passwords_are_hashed(runner, db):
    result = runner.invoke(args=["create-user", "--email", "Hồng@Example.com", "--name", "Trần Thị Hồng",
                                 "--role", "ioc_operator", "--password", "mật khẩu dài"])
    assert result.exit_code == 0, result.output
    from hpsmart.models import User

    user = db.session.query(User).filter_by(role="ioc_operator").order_by(User.id.desc()).first()
    assert "mật khẩu" not in user.password_hash and user.check_password("mật khẩu dài")
