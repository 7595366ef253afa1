"""CLI commands answer bad input with a localized message (Vietnamese by default) and exit
status 1, never a traceback."""
import pytest


@pytest.mark.parametrize(("args", "message"), [
    (["--email", "not an email", "--role", "admin"], "không hợp lệ"),
    (["--email", "x@example.com", "--role", "agency_staff"], "phải gắn với một đơn vị"),
    (["--email", "x@example.com", "--role", "agency_lead", "--agency", "Sở Không Có"], "Không có đơn vị hiện hành"),
    (["--email", "x@example.com", "--role", "admin", "--password", "short"], "ít nhất 8 ký tự"),
])
def test_create_user_bad_input(runner, args, message):
    if "--password" not in args:
        args = [*args, "--password", "long enough password"]
    result = runner.invoke(args=["create-user", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_create_user_refuses_an_existing_email(runner):
    args = ["create-user", "--email", "dup@example.com", "--role", "admin", "--password", "long enough 1"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=[*args[:-1], "another password"])
    assert again.exit_code == 1 and "Đã có tài khoản" in again.output


def test_create_user_unknown_role_is_a_usage_error(runner):
    result = runner.invoke(args=["create-user", "--email", "a@b.vn", "--role", "boss", "--password", "x" * 9])
    assert result.exit_code == 2 and "boss" in result.output


def test_create_staff_with_agency(runner, db):
    result = runner.invoke(args=["create-user", "--email", "nv@xd.haiphong.gov.vn", "--name", "Lê Văn Cường",
                                 "--role", "agency_staff", "--agency", "Sở Xây dựng", "--password", "long enough"])
    assert result.exit_code == 0, result.output
    from hpsmart.models import User

    user = db.session.query(User).filter_by(email="nv@xd.haiphong.gov.vn").one()
    assert user.agency.name == "Sở Xây dựng"


def test_commands_on_an_empty_database_say_what_to_do(tmp_path):
    """A database that was never migrated: a message naming ``flask db upgrade``, exit 1."""
    from hpsmart import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                      "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False})
    runner = app.test_cli_runner()
    for args in (["load-reference"], ["load-demo"],
                 ["create-user", "--email", "a@example.com", "--role", "admin", "--password", "long enough"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert "flask db upgrade" in result.output and "Traceback" not in result.output


def test_without_secret_key_setting_each_instance_gets_its_own_random_key(tmp_path, monkeypatch):
    """No key in the source that could forge a session: a random one kept in the instance folder."""
    from hpsmart.config import load_settings

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_settings(str(tmp_path / "a"))["SECRET_KEY"]
    assert len(first) == 64 and first == load_settings(str(tmp_path / "a"))["SECRET_KEY"]
    assert first != load_settings(str(tmp_path / "b"))["SECRET_KEY"]
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("SECRET_KEY", "from the environment")
    assert load_settings(str(tmp_path / "a"))["SECRET_KEY"] == "from the environment"
