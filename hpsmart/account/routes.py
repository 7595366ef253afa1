"""A logged-in user's own settings."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, refresh
from flask_login import current_user

from ..extensions import db
from ..permissions import Permission, requires
from .forms import SettingsForm

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.ACCOUNT)
def settings():
    """Show and change the interface language."""
    form = SettingsForm(obj=current_user)
    if form.validate_on_submit():
        current_user.language = form.language.data
        db.session.commit()
        refresh()
        flash(_("Your settings were saved."), "success")
        return redirect(url_for("account.settings"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("account/settings.html", form=form), status
