"""Issue 3, done when: a Digital Community team member, on a phone, sends a report with a photo
through the assisted form (the point picked on the map), and an IOC operator finds it in the inbox.

The live server has no MAP_TILE_URL: the map shows only Hai Phong's outline, which is enough to
pick a point (and is what a deployment without a tile server gets).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from .. import factories
from .test_login import translated

pytestmark = pytest.mark.browser

# An iPhone 12/13 mini-sized screen, in CSS pixels, with touch.
PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}
# Where the phone says it is: Nhà hát Lớn Hải Phòng.
PHONE_POSITION = {"latitude": 20.8561, "longitude": 106.6822, "accuracy": 12}
HONG_BANG = "Phường Hồng Bàng"
COORDINATE = re.compile(r"^-?\d{1,3}\.\d{6}$")


def phone_photo(path) -> str:
    """A small JPEG like a phone's, written to ``path``; returns the path as text."""
    picture = Image.new("RGB", (1200, 900), (96, 120, 140))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((350, 300, 850, 650), fill=(40, 40, 40))  # a pothole, more or less
    picture.save(path, "JPEG", quality=85)
    return str(path)


def ward_code(live_data, name: str = HONG_BANG) -> str:
    with live_data():
        return factories.unit(name).code


def fill_report(page, ward: str, title: str) -> None:
    """Everything but the point and the photo: the problem, the place, the citizen, consent."""
    page.select_option("select[name=category_code]", "giao_thong")
    page.fill("input[name=title]", title)
    page.fill("textarea[name=description]", "Ổ gà sâu khoảng 20 cm giữa làn xe máy, đã có người ngã.")
    page.select_option("select[name=admin_unit_code]", ward)
    page.fill("input[name=address]", "Trước số 12 Hoàng Văn Thụ")
    page.fill("input[name=reporter_name]", "Nguyễn Thị Hồng")
    page.fill("input[name=reporter_phone]", "0912 345 678")
    page.check("input[name=consent]")
    page.select_option("select[name=consent_method]", "in_person")
    page.select_option("select[name=citizen_channel]", "street")


def submit_and_read_code(page) -> str:
    with page.expect_navigation():
        page.click("form button[type=submit].primary")
    path = urlsplit(page.url).path
    assert re.fullmatch(r"/community/report/HP-\d{4}-\d{6}/submitted", path), path
    code = page.locator("#tracking-code").inner_text().strip()
    assert path.split("/")[3] == code
    return code


def test_member_on_a_phone_sends_a_report_with_a_photo_and_the_ioc_finds_it(
        new_context, login, live_app, live_data, tmp_path):
    ward = ward_code(live_data)
    title = "Ổ gà sâu trước số 12 Hoàng Văn Thụ (gửi hộ)"
    context = new_context(**PHONE, geolocation=PHONE_POSITION, permissions=["geolocation"])
    page = login(context.new_page(), "community_member")
    assert urlsplit(page.url).path == "/community/"
    page.get_by_role("link", name=translated(live_app, "Help a citizen send a report")).first.click()
    assert urlsplit(page.url).path == "/community/report/new"

    # Mobile first: nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    fill_report(page, ward, title)
    page.set_input_files("input[name=photos]", phone_photo(tmp_path / "o-ga.jpg"))

    # The map is there (no tiles configured: the outline of the city and a note say so).
    latitude, longitude = page.locator("input[name=latitude]"), page.locator("input[name=longitude]")
    expect(page.locator("[data-map-canvas].leaflet-container")).to_be_visible()
    expect(page.locator("[data-map-note]")).to_be_visible()
    expect(page.locator("[data-map-canvas] path.leaflet-interactive, [data-map-canvas] svg path").first).to_be_attached()

    # "Use my location" fills the point from the phone.
    page.get_by_role("button", name=translated(live_app, "Use my location")).click()
    expect(latitude).to_have_value("20.856100")
    expect(longitude).to_have_value("106.682200")
    expect(page.locator("[data-map-status]")).to_have_text(translated(
        live_app, "The point is set to your location. Check it on the map, or tap the map to move it."))

    # A tap on the map moves the point there; the inputs follow and stay editable.
    canvas = page.locator("[data-map-canvas]")
    box = canvas.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] * 0.40, box["y"] + box["height"] * 0.55)
    expect(latitude).not_to_have_value("20.856100")
    tapped = (latitude.input_value(), longitude.input_value())
    assert all(COORDINATE.match(value) for value in tapped), tapped
    assert 20.5 < float(tapped[0]) < 21.3 and 106.0 < float(tapped[1]) < 107.3, tapped
    expect(page.locator("[data-map-canvas] .leaflet-marker-icon")).to_have_count(1)

    code = submit_and_read_code(page)
    expect(page.locator("#deadline")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # The member's list has it, with a link to the public tracking page.
    page.goto("/community/")
    item = page.locator("#assisted-reports li.card", has_text=code)
    expect(item).to_have_count(1)
    expect(item.get_by_role("link", name=code)).to_have_attribute("href", f"/track?code={code}")

    # An IOC operator, on another computer, searches the inbox for the code and opens it.
    operator = login(new_context().new_page(), "ioc_operator")
    assert urlsplit(operator.url).path == "/inbox/"
    operator.fill("input[name=q]", code)
    operator.press("input[name=q]", "Enter")
    expect(operator).to_have_url(re.compile(rf"[?&]q={code}(&|$)"))
    expect(operator.locator("#report-list tbody tr")).to_have_count(1)
    row = operator.locator("#report-list tbody tr", has_text=code)
    expect(row).to_contain_text(title)
    row.get_by_role("link", name=code).click()
    expect(operator.locator("main h1")).to_contain_text(code)
    expect(operator.locator("main")).to_contain_text(translated(live_app, "Assisted by Digital Community team"))

    with live_data() as db:
        from sqlalchemy import select

        from hpsmart.models import Channel, Report

        report = db.session.scalar(select(Report).where(Report.tracking_code == code))
        assert report.channel == Channel.ASSISTED and report.assisted_by.role.value == "community_member"
        assert (f"{report.latitude:.6f}", f"{report.longitude:.6f}") == tapped
        assert len(report.photos) == 1 and report.photos[0].width == 1200


def test_the_assisted_form_works_with_javascript_off(new_context, login, live_app, live_data, tmp_path):
    ward = ward_code(live_data)
    page = login(new_context(java_script_enabled=False, **PHONE).new_page(), "community_member")
    page.goto("/community/report/new")
    # No map and no location button without JavaScript: the point is typed.
    expect(page.locator("[data-map-canvas]")).to_be_hidden()
    expect(page.locator("[data-map-locate]")).to_be_hidden()
    fill_report(page, ward, "Cây đổ chắn ngang ngõ 7 (không có JavaScript)")
    page.fill("input[name=latitude]", "20.8449")
    page.fill("input[name=longitude]", "106.6881")
    page.set_input_files("input[name=photos]", phone_photo(tmp_path / "cay.jpg"))
    code = submit_and_read_code(page)
    with live_data() as db:
        from sqlalchemy import select

        from hpsmart.models import Report

        report = db.session.scalar(select(Report).where(Report.tracking_code == code))
        assert (report.latitude, report.longitude) == (20.8449, 106.6881) and len(report.photos) == 1
