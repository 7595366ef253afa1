"""Demo data: a realistic month of citizens' reports and one login per role.

``load_demo()`` fills the database (reference data must be loaded first) with:

* the demo accounts of the project's contract: ``admin@example.com`` (admin),
  ``ioc@example.com`` (IOC operator), ``staff@example.com`` and
  ``lead@example.com`` (staff and lead of Sở Xây dựng) and
  ``community@example.com`` (Digital Community team member of Phường Lê Chân);
  their password is ``HPSMART_DEMO_PASSWORD`` when set, else one generated
  once and kept in the instance folder (``demo-password.txt``, mode 0600);
* for the other agencies and wards that the generated reports need, a staff
  member and a lead per agency (``staff.<agency>@example.com``,
  ``lead.<agency>@example.com``) and a community member per ward
  (``community.<ward>@example.com``), with the same password, so the history
  has a plausible author for every step;
* reports received over the 30 days before now (UTC; daytime-weighted in
  Asia/Ho_Chi_Minh), with every category, status, channel and urgency, many
  wards and communes, text typed the way citizens type (with and without
  diacritics, capitals, abbreviations, decomposed Unicode), generated photos,
  answers, and a history event for every step.

History follows the workflow service's conventions (``workflow.record``): a
public ``created`` event, then one ``status`` event per transition (old and new
status value; the note holds the reason of a rejection, return or reopening,
the original's tracking code for a duplicate, and the published answer on
``published``), an internal ``agency`` event when routed, ``co_agency`` for a
co-handling agency and ``answer`` (the answer text sent for approval).
``report_version`` stays empty: the rows are inserted at version 1.

Text goes through ``hpsmart.text.nfc`` exactly as intake does with real input;
photos through ``hpsmart.services.photos.store_photo`` (in threads, before the
rows are flushed). Everything is written through the session and flushed; the
caller commits. The same seed gives the same reports relative to "now".
"""
from __future__ import annotations

import io
import os
import random
import secrets
import unicodedata
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path

from flask import current_app
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..i18n import LOCAL_TZ, to_local
from ..models import (AdministrativeUnit, Agency, AgencyKind, Attachment, Category, Channel, CitizenFeedback,
                      Outcome, Report, Response, ResponseState,
                      ReportEvent, ReportStatus, Role, UnitLevel, Urgency, User, utcnow)
from ..text import fold, nfc
from .deadlines import deadline_for
from .open311 import ensure_demo_api_client
from .photos import StoredPhoto, delete_stored, store_photo
from .routing import agency_by_rule
from .tracking import next_tracking_code

PASSWORD_ENV = "HPSMART_DEMO_PASSWORD"
PASSWORD_FILE_NAME = "demo-password.txt"
DEMO_AGENCY_NAME = "Sở Xây dựng"
COMMUNITY_WARD_NAME = "Phường Lê Chân"
DEMO_PERIOD_DAYS = 30
PHOTO_WORKERS = 8  # threads that generate and store photos

# The contract: e-mail, role, display name. Staff and lead belong to DEMO_AGENCY_NAME,
# the community member to COMMUNITY_WARD_NAME.
DEMO_ACCOUNTS: list[tuple[str, Role, str]] = [
    ("admin@example.com", Role.ADMIN, "Phạm Minh Tuấn"),
    ("ioc@example.com", Role.IOC_OPERATOR, "Nguyễn Thị Thu Hà"),
    ("staff@example.com", Role.AGENCY_STAFF, "Trần Văn Hưng"),
    ("lead@example.com", Role.AGENCY_LEAD, "Vũ Đức Thắng"),
    ("community@example.com", Role.COMMUNITY_MEMBER, "Lê Thị Ngọc Ánh"),
]


class DemoDataError(RuntimeError):
    """The demo data cannot be loaded (reference data missing); ``str(error)`` says what to do."""


@dataclass
class DemoResult:
    """What ``load_demo`` did.

    ``reports_created``: number of reports added by this call (0 when skipped).
    ``logins``: the contract accounts as ``[(email, role value), ...]``.
    ``password``: their password (plain text, to print for the person running the demo).
    """

    reports_created: int
    logins: list[tuple[str, str]]
    password: str


# --------------------------------------------------------------------------- password


def demo_password() -> str:
    """The demo accounts' password.

    ``HPSMART_DEMO_PASSWORD`` when set and not blank (used as is, whatever its length); else the one kept in the file
    ``DEMO_PASSWORD_FILE`` (config key; default ``<instance folder>/demo-password.txt``),
    generated on first use (14 characters from an alphabet without look-alikes,
    ``secrets``) and written with mode 0600, so re-runs give the same password.

    :raises OSError: when the file cannot be read or written.
    """
    from_env = os.environ.get(PASSWORD_ENV, "")
    if from_env.strip():
        return from_env  # exactly as set: the contract says the password is this value
    path = Path(current_app.config.get("DEMO_PASSWORD_FILE")
                or os.path.join(current_app.instance_path, PASSWORD_FILE_NAME))
    if path.is_file():
        stored = path.read_text(encoding="utf-8").strip()
        if len(stored) >= 8:
            return stored
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    password = "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    os.chmod(path, 0o600)
    return password


# --------------------------------------------------------------------------- citizens' words

SURNAMES = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 4), ("Vũ", 5), ("Đặng", 3),
            ("Bùi", 3), ("Đỗ", 3), ("Ngô", 2), ("Dương", 2), ("Đinh", 2), ("Mai", 1), ("Phan", 2),
            ("Tô", 1), ("Lương", 1), ("Đào", 2), ("Hà", 1)]
MALE_MIDDLE = ["Văn", "Đức", "Minh", "Quang", "Xuân", "Hữu", "Thanh", "Công", "Ngọc", "Tiến"]
FEMALE_MIDDLE = ["Thị", "Thị", "Thu", "Ngọc", "Thanh", "Phương", "Minh", "Thùy", "Hồng", "Kim"]
MALE_GIVEN = ["Hùng", "Dũng", "Tuấn", "Nam", "Long", "Hải", "Cường", "Thắng", "Hiếu", "Phong", "Sơn",
              "Quân", "Trung", "Bình", "Toàn", "Khánh", "Đạt", "Huy", "Việt", "Thành", "Mạnh", "Tùng"]
FEMALE_GIVEN = ["Lan", "Hương", "Hằng", "Hoa", "Mai", "Linh", "Trang", "Thảo", "Ngọc", "Huyền", "Nga",
                "Yến", "Phương", "Dung", "Hà", "Thủy", "Oanh", "Nhung", "Vân", "Loan", "Anh", "Chi"]

# Urban wards: relative weight (most reports come from the old inner city), an
# approximate centre (WGS84 degrees; for demo points only) and streets people name.
URBAN_WARDS: dict[str, tuple[float, tuple[float, float] | None, list[str]]] = {
    "Phường Lê Chân": (14, (20.8475, 106.6795), ["Tô Hiệu", "Hồ Sen", "Nguyễn Đức Cảnh", "Trần Nguyên Hãn",
                                                  "Hàng Kênh", "Dư Hàng", "Chợ Con", "Nguyễn Công Trứ",
                                                  "Lam Sơn", "Miếu Hai Xã"]),
    "Phường Ngô Quyền": (12, (20.8590, 106.6980), ["Lạch Tray", "Lê Lợi", "Văn Cao", "Đà Nẵng", "Cầu Đất",
                                                    "Lương Khánh Thiện", "Lê Lai", "Đông Khê"]),
    "Phường Hồng Bàng": (9, (20.8620, 106.6740), ["Hoàng Văn Thụ", "Điện Biên Phủ", "Quang Trung",
                                                   "Tam Bạc", "Hùng Vương", "Bạch Đằng", "Minh Khai"]),
    "Phường Gia Viên": (8, (20.8545, 106.6905), ["Lạch Tray", "Lê Lợi", "Máy Tơ", "Đà Nẵng",
                                                 "Lê Thánh Tông", "Chu Văn An"]),
    "Phường An Biên": (7, (20.8530, 106.6760), ["Trần Nguyên Hãn", "Mê Linh", "Tô Hiệu", "Cát Dài",
                                                "Hai Bà Trưng", "Nguyễn Đức Cảnh"]),
    "Phường Hải An": (9, (20.8380, 106.7280), ["Lê Hồng Phong", "Ngô Gia Tự", "Văn Cao", "Lạch Tray",
                                               "Phương Lưu", "Thư Trung"]),
    "Phường Đông Hải": (6, (20.8440, 106.7560), ["Ngô Gia Tự", "Đình Vũ", "Bùi Thị Tự Nhiên", "Cát Bi"]),
    "Phường Kiến An": (6, (20.8080, 106.6330), ["Trần Thành Ngọ", "Phan Đăng Lưu", "Trần Tất Văn",
                                                "Lê Duẩn"]),
    "Phường Dương Kinh": (3, (20.7900, 106.6800), ["Phạm Văn Đồng", "Mạc Đăng Doanh"]),
    "Phường Đồ Sơn": (3, (20.7100, 106.7850), ["Lý Thánh Tông", "Vạn Hoa", "Nguyễn Hữu Cầu"]),
    "Phường Hưng Đạo": (2, None, ["Phạm Văn Đồng", "Trà Khê"]),
    "Phường An Dương": (3, None, ["Tôn Đức Thắng", "Nguyễn Văn Linh"]),
    "Phường Hồng An": (3, None, ["Tôn Đức Thắng", "Quốc lộ 5"]),
    "Phường Thuỷ Nguyên": (4, (20.9280, 106.6650), ["Quốc lộ 10", "Bạch Đằng", "đường 359"]),
    "Phường Hải Dương": (5, (20.9400, 106.3300), ["Trần Hưng Đạo", "Hồng Quang", "Nguyễn Lương Bằng",
                                                  "Thanh Niên"]),
    "Phường Lê Thanh Nghị": (3, None, ["Lê Thanh Nghị", "Nguyễn Văn Linh", "Ngô Quyền"]),
}
OTHER_WARD_STREETS = ["Trần Hưng Đạo", "Nguyễn Trãi", "Lê Lợi", "Hùng Vương", "Quang Trung", "Quốc lộ 5",
                      "Quốc lộ 18", "Nguyễn Văn Linh"]
COMMUNE_ROADS = ["trục xã", "liên thôn", "liên xã", "Quốc lộ 10", "Quốc lộ 37", "Quốc lộ 5", "tỉnh 354",
                 "tỉnh 391", "trục thôn"]
VILLAGES = ["Đông", "Nam", "Trung", "Thượng", "Hạ", "An Lạc", "Phú Xá", "Đoài", "Tiền Phong", "Quyết Tiến"]
URBAN_SPOTS = ["đoạn trước số {n}", "gần ngã tư {street2}", "đối diện chợ", "cạnh trường tiểu học",
               "đầu ngõ {m}", "gần cây xăng", "trước cửa nhà số {n}", "đoạn gần cầu", "gần bến xe buýt"]
COMMUNE_SPOTS = ["gần nhà văn hóa thôn {village}", "đoạn qua cổng chợ", "cạnh trạm y tế xã",
                 "gần trường mầm non", "đầu thôn {village}", "gần cầu", "đoạn qua UBND xã"]
SINCE = ["mấy hôm nay", "từ tuần trước", "cả tháng nay", "từ sáng nay", "đã hơn 2 tuần",
         "từ đợt mưa vừa rồi", "mấy ngày nay"]
OPENERS = ["", "", "", "Kính gửi cơ quan chức năng, ", "Chào admin, ", "Em xin phản ánh: ",
           "Tôi là người dân sống tại khu vực này. ", "Xin chào, "]
CLOSERS = ["", " Đề nghị cơ quan chức năng sớm kiểm tra, xử lý.", " Mong các cấp chính quyền quan tâm giải quyết ạ.",
           " Rất nguy hiểm, đề nghị xử lý gấp!", " Xin cảm ơn!", " Đã phản ánh nhiều lần nhưng chưa thấy ai xử lý.",
           " Bà con khu vực rất bức xúc.", " Có ảnh đính kèm."]

# (title, description) per category code; slots: street, street2, spot, since, n, ward.
REPORT_TEXTS: dict[str, list[tuple[str, str]]] = {
    "giao_thong": [
        ("Ổ gà lớn trên đường {street}",
         "Trên đường {street} {spot} có mấy ổ gà rất to và sâu, {since} đã có mấy người đi xe máy bị ngã. "
         "Trời tối không nhìn thấy rất nguy hiểm."),
        ("Mặt đường {street} bị sụt lún",
         "Mặt đường {street} {spot} bị lún thành vệt dài khoảng {k} mét, xe tải đi qua rung cả nhà."),
        ("Đèn tín hiệu giao thông không hoạt động",
         "Đèn tín hiệu tại nút giao {street} - {street2} bị tắt {since}, giờ cao điểm rất ùn tắc, "
         "xe các hướng tranh nhau đi."),
        ("Biển báo bị đổ", "Biển báo giao thông {spot} trên đường {street} bị đổ nghiêng ra lòng đường, "
                           "có thể gây tai nạn."),
        ("Nắp hố ga giữa đường bị vênh",
         "Nắp hố ga giữa đường {street} {spot} bị vênh cao, ô tô đi qua kêu rất to, xe máy dễ ngã."),
        ("Đường {street} xuống cấp nghiêm trọng",
         "Đoạn đường {street} {spot} bong tróc hết lớp nhựa, trời mưa thì lầy lội, trời nắng thì bụi mù."),
    ],
    "trat_tu_do_thi": [
        ("Lấn chiếm vỉa hè trên đường {street}",
         "Các hộ kinh doanh {spot} trên đường {street} bày hàng hóa, dựng mái che kín hết vỉa hè, "
         "người đi bộ phải đi xuống lòng đường."),
        ("Quán nhậu chiếm vỉa hè, lòng đường",
         "Quán nhậu {spot} đường {street} kê bàn ghế tràn ra lòng đường, tối nào cũng ồn ào đến 12 giờ đêm."),
        ("Xe ô tô đỗ sai quy định",
         "Ô tô đỗ hai bên đường {street} {spot} cả ngày, có xe đỗ chắn lối vào ngõ, xe cứu thương không vào được."),
        ("Quảng cáo rao vặt dán tràn lan",
         "Cột điện, tường nhà {spot} trên đường {street} bị dán, vẽ quảng cáo khoan cắt bê tông, "
         "cho vay tiền chi chít, rất mất mỹ quan."),
        ("Chợ cóc họp trên đường",
         "Chợ cóc họp {spot} đường {street} từ 5 giờ sáng, bán hàng tràn ra giữa đường gây ùn tắc."),
        ("Trông giữ xe trái phép trên vỉa hè",
         "Vỉa hè {spot} đường {street} bị biến thành bãi trông giữ xe máy, thu tiền 10 nghìn một lượt."),
    ],
    "ve_sinh_moi_truong": [
        ("Rác thải tồn đọng nhiều ngày",
         "Điểm tập kết rác {spot} đường {street} {since} không được thu gom, rác tràn ra đường, "
         "bốc mùi hôi thối, ruồi nhặng rất nhiều."),
        ("Đổ trộm phế thải xây dựng",
         "Có người đổ trộm phế thải xây dựng, gạch vỡ {spot} đường {street} vào ban đêm, đống phế thải ngày càng to."),
        ("Mùi hôi từ cống thoát nước",
         "Cống {spot} đường {street} bốc mùi hôi nồng nặc {since}, các hộ xung quanh phải đóng cửa cả ngày."),
        ("Đốt rác gây khói", "Có người đốt rác {spot}, khói bay vào nhà dân, trẻ con bị ho."),
        ("Xả nước thải ra mương",
         "Cơ sở sản xuất {spot} xả nước thải màu đen ra mương, cá chết nổi trắng, mùi rất khó chịu."),
        ("Xác động vật chết trên đường", "Có xác chó chết {spot} đường {street} từ sáng, chưa ai dọn, bốc mùi."),
    ],
    "dien_chieu_sang": [
        ("Đèn đường không sáng",
         "Cả dãy đèn đường {spot} đường {street} không sáng {since}, buổi tối tối om, "
         "rất dễ xảy ra trộm cắp và tai nạn."),
        ("Cột đèn bị nghiêng sắp đổ",
         "Cột đèn chiếu sáng {spot} đường {street} bị xe đâm nghiêng, dây điện lòi ra ngoài, "
         "rất nguy hiểm cho trẻ em."),
        ("Đèn đường sáng cả ban ngày",
         "Đèn đường trên đường {street} {spot} bật sáng cả ban ngày {since}, lãng phí điện."),
        ("Đèn chập chờn lúc sáng lúc tắt",
         "Bóng đèn đường {spot} đường {street} chập chờn lúc sáng lúc tắt, nhìn rất chói mắt."),
        ("Tủ điện chiếu sáng bị mở nắp",
         "Tủ điện chiếu sáng {spot} đường {street} bị mất nắp, dây điện hở ngay cạnh chỗ trẻ con chơi."),
    ],
    "cap_thoat_nuoc": [
        ("Ngập sâu trên đường {street} sau mưa",
         "Cứ mưa to là đường {street} {spot} ngập sâu đến nửa bánh xe, nước tràn vào nhà dân, "
         "xe chết máy hàng loạt. Đề nghị nạo vét cống."),
        ("Đường {street} bị ngập nước",
         "Sau trận mưa tối qua nước {spot} đường {street} vẫn chưa rút, cống thoát nước bị tắc."),
        ("Mất nắp cống", "Hố ga {spot} đường {street} bị mất nắp, chỉ có cành cây cắm làm dấu, "
                         "ban đêm rất nguy hiểm."),
        ("Vỡ ống nước sạch",
         "Đường ống cấp nước {spot} đường {street} bị vỡ, nước chảy lênh láng {since}, "
         "nhiều nhà trong ngõ bị mất nước."),
        ("Mất nước sinh hoạt",
         "Khu vực {spot} đường {street} bị mất nước {since}, không có thông báo trước, bà con phải đi xin nước."),
        ("Cống thoát nước bị tắc",
         "Rãnh thoát nước {spot} đường {street} đầy bùn và rác, nước đọng bốc mùi, muỗi nhiều."),
    ],
    "cay_xanh": [
        ("Cây đổ chắn ngang đường",
         "Sau trận gió tối qua, một cây xà cừ lớn {spot} đường {street} bị đổ chắn ngang đường, đè lên dây điện."),
        ("Cây xanh có nguy cơ gãy đổ",
         "Cây {spot} đường {street} bị mục gốc, nghiêng hẳn ra đường, mưa bão dễ đổ vào người đi đường."),
        ("Cành cây che khuất đèn và biển báo",
         "Cành cây {spot} đường {street} mọc um tùm che khuất đèn đường và biển báo, đề nghị cắt tỉa."),
        ("Cành khô treo lơ lửng",
         "Có cành khô to bị gãy treo lơ lửng trên cây {spot} đường {street}, có thể rơi trúng người bất cứ lúc nào."),
        ("Chặt phá cây xanh trên vỉa hè",
         "Có hộ dân tự ý chặt cây xanh trên vỉa hè {spot} đường {street} để làm biển quảng cáo."),
    ],
    "xay_dung": [
        ("Xây dựng không phép",
         "Nhà {spot} đường {street} đang xây thêm tầng, không thấy treo biển cấp phép xây dựng, "
         "làm cả ngày cả đêm."),
        ("Công trình không che chắn",
         "Công trình xây dựng {spot} đường {street} không che chắn, vật liệu rơi xuống đường, bụi bay mù mịt."),
        ("Tập kết vật liệu xây dựng trên vỉa hè",
         "Cát, đá, gạch tập kết chiếm hết vỉa hè và một phần lòng đường {spot} đường {street} {since}."),
        ("Thi công gây nứt nhà bên cạnh",
         "Công trình {spot} đường {street} ép cọc làm tường nhà tôi bị nứt, đã báo chủ nhà nhưng "
         "không được giải quyết."),
        ("Thi công ban đêm gây ồn",
         "Công trình {spot} đường {street} đổ bê tông lúc 1-2 giờ sáng, máy trộn chạy ầm ầm, không ai ngủ được."),
    ],
    "an_ninh_trat_tu": [
        ("Thanh niên tụ tập đua xe",
         "Tối nào cũng có nhóm thanh niên tụ tập {spot} đường {street}, rú ga, nẹt pô, lạng lách đến 1-2 giờ sáng."),
        ("Trộm cắp xe máy",
         "Khu vực {spot} đường {street} {since} xảy ra nhiều vụ mất trộm xe máy, đề nghị tăng cường tuần tra."),
        ("Hát karaoke quá giờ",
         "Nhà {spot} đường {street} hát karaoke công suất lớn đến nửa đêm, ảnh hưởng người già và trẻ nhỏ."),
        ("Đánh nhau gây mất trật tự",
         "Có đánh nhau {spot} đường {street} tối qua, nhiều người cầm hung khí, người dân rất lo sợ."),
        ("Nghi có tụ điểm cờ bạc",
         "Nhà {spot} đường {street} thường xuyên có nhiều người lạ ra vào, nghi tụ tập cờ bạc."),
    ],
    "y_te": [
        ("Cơ sở kinh doanh thực phẩm mất vệ sinh",
         "Quán ăn {spot} đường {street} chế biến thức ăn ngay trên vỉa hè cạnh rãnh nước, ruồi nhặng bâu đầy."),
        ("Đề nghị phun thuốc muỗi phòng sốt xuất huyết",
         "Khu vực {spot} đường {street} có nhiều người bị sốt xuất huyết, đề nghị phun thuốc diệt muỗi."),
        ("Phòng khám không rõ giấy phép",
         "Phòng khám {spot} đường {street} quảng cáo chữa bệnh, không thấy treo giấy phép hoạt động."),
        ("Chờ khám quá lâu ở bệnh viện",
         "Đưa con đi khám ở bệnh viện, lấy số từ 6 giờ sáng đến 11 giờ vẫn chưa được khám, không có ai hướng dẫn."),
    ],
    "giao_duc": [
        ("Thu tiền đầu năm học quá nhiều khoản",
         "Trường tiểu học {spot} thu nhiều khoản ngoài quy định như quỹ lớp, tiền máy chiếu, tiền điều hòa."),
        ("Ùn tắc trước cổng trường giờ tan học",
         "Giờ tan học trước cổng trường {spot} đường {street} phụ huynh đỗ xe tràn ra giữa đường, ùn tắc kéo dài."),
        ("Dạy thêm trái quy định",
         "Giáo viên tổ chức dạy thêm tại nhà {spot} đường {street}, học sinh không đi học thêm bị phân biệt."),
        ("Bếp ăn bán trú không đảm bảo",
         "Bữa ăn bán trú của trường mầm non {spot} quá ít, phụ huynh lo lắng về chất lượng thực phẩm."),
    ],
    "dich_vu_cong": [
        ("Hồ sơ trực tuyến quá hạn chưa có kết quả",
         "Tôi nộp hồ sơ cấp đổi giấy phép lái xe trên cổng dịch vụ công đã quá hẹn {since} nhưng chưa có kết quả, "
         "gọi điện không ai nghe."),
        ("Không đăng nhập được cổng dịch vụ công",
         "Đăng nhập cổng dịch vụ công bằng VNeID bị báo lỗi liên tục {since}, không nộp được hồ sơ."),
        ("Cán bộ một cửa yêu cầu giấy tờ không cần thiết",
         "Khi làm thủ tục tại bộ phận một cửa {ward}, cán bộ yêu cầu nộp thêm bản sao công chứng dù đã có "
         "dữ liệu trên VNeID."),
        ("Chậm cấp giấy chứng nhận quyền sử dụng đất",
         "Gia đình nộp hồ sơ cấp sổ đỏ từ tháng trước, đến nay vẫn chưa có kết quả, không được giải thích lý do."),
    ],
    "khac": [
        ("Chó thả rông không rọ mõm",
         "Nhiều nhà {spot} đường {street} thả chó ra đường không rọ mõm, trẻ con đi học rất sợ, "
         "đã có người bị cắn."),
        ("Góp ý về tuyến xe buýt",
         "Đề nghị bố trí thêm điểm dừng xe buýt {spot} đường {street}, người già phải đi bộ rất xa."),
        ("Loa phát thanh quá to", "Loa phát thanh của tổ dân phố {spot} bật từ 5 giờ sáng, âm lượng quá to."),
        ("Đề nghị lắp gương cầu lồi tại khúc cua",
         "Khúc cua {spot} đường {street} bị khuất tầm nhìn, đề nghị lắp gương cầu lồi."),
    ],
}
# Short titles some people type instead of a sentence.
# (Used only when all their words occur in the description.)
SHORT_TITLES: dict[str, list[str]] = {
    "giao_thong": ["Ổ gà", "ổ gà to", "Biển báo đổ", "Đèn tín hiệu"], "trat_tu_do_thi": ["Lấn chiếm vỉa hè",
                                                                                "ô tô đỗ", "quán nhậu"],
    "ve_sinh_moi_truong": ["Rác", "rác tồn đọng", "Mùi hôi", "đốt rác"], "dien_chieu_sang": ["Đèn đường",
                                                                                          "đèn không sáng"],
    "cap_thoat_nuoc": ["ngập", "Ngập sâu", "mất nước", "Nắp cống", "cống tắc"], "cay_xanh": ["Cây đổ", "cành khô"],
    "xay_dung": ["Xây dựng", "công trình"], "an_ninh_trat_tu": ["Đua xe", "karaoke", "mất trộm"],
    "y_te": ["quán ăn"], "giao_duc": ["dạy thêm"], "dich_vu_cong": ["Hồ sơ"], "khac": ["chó thả rông"],
}
DANGER_CATEGORIES = {"giao_thong", "dien_chieu_sang", "cap_thoat_nuoc", "cay_xanh", "xay_dung"}
# Published answers per category; slots: agency, street, date (local dd/mm/yyyy), ward.
ANSWER_TEXTS: dict[str, str] = {
    "giao_thong": "{agency} đã giao đơn vị duy tu hạ tầng giao thông kiểm tra hiện trường; ngày {date} đã vá "
                  "các ổ gà, hoàn trả mặt đường {street} bằng bê tông nhựa, đảm bảo an toàn giao thông.",
    "trat_tu_do_thi": "{agency} đã phối hợp Công an phường kiểm tra ngày {date}, lập biên bản và yêu cầu các hộ "
                      "tháo dỡ mái che, thu dọn hàng hóa lấn chiếm vỉa hè đường {street}. Phường tiếp tục "
                      "kiểm tra định kỳ để không tái diễn.",
    "ve_sinh_moi_truong": "{agency} đã chỉ đạo đơn vị vệ sinh môi trường thu gom toàn bộ rác tồn đọng tại "
                          "{street} trong ngày {date}, bố trí thêm thùng rác và tăng tần suất thu gom.",
    "dien_chieu_sang": "{agency} đã giao đơn vị quản lý chiếu sáng thay bóng đèn LED và sửa chữa tủ điện trên "
                       "đường {street} ngày {date}; hệ thống chiếu sáng đã hoạt động bình thường.",
    "cap_thoat_nuoc": "{agency} đã chỉ đạo công ty thoát nước nạo vét hố ga, thông tuyến cống trên đường "
                      "{street} ngày {date} và lắp lại nắp ga bị vỡ; khu vực đã hết ngập.",
    "cay_xanh": "{agency} đã giao công ty công viên cây xanh xử lý ngày {date}: cắt tỉa, dọn cành gãy và "
                "chằng chống cây trên đường {street}.",
    "xay_dung": "{agency} đã kiểm tra công trình ngày {date}, lập biên bản vi phạm hành chính, yêu cầu chủ đầu tư "
                "tạm dừng thi công, che chắn công trình và thu dọn vật liệu trên vỉa hè đường {street}.",
    "an_ninh_trat_tu": "{agency} đã chỉ đạo Công an {ward} xác minh, tăng cường tuần tra khu vực đường {street} "
                       "từ ngày {date}; các trường hợp vi phạm đã bị xử lý theo quy định.",
    "y_te": "{agency} đã chỉ đạo kiểm tra cơ sở ngày {date}; cơ sở vi phạm đã bị xử phạt và yêu cầu khắc phục "
            "điều kiện vệ sinh an toàn thực phẩm.",
    "giao_duc": "{agency} đã làm việc với nhà trường ngày {date}; các khoản thu không đúng quy định đã được "
                "dừng và hoàn trả cho phụ huynh.",
    "dich_vu_cong": "{agency} đã kiểm tra hồ sơ ngày {date}; hồ sơ của công dân đã được giải quyết và trả kết "
                    "quả qua dịch vụ bưu chính công ích.",
    "khac": "{agency} đã tiếp nhận, kiểm tra ngày {date} và giao {ward} phối hợp xử lý; kết quả đã được thông "
            "báo đến người dân.",
}
REJECT_REASONS = [
    "Nội dung không thuộc thẩm quyền giải quyết của thành phố; đề nghị công dân liên hệ Tòa án nhân dân "
    "để được giải quyết tranh chấp dân sự.",
    "Phản ánh không rõ vị trí và nội dung, không đủ thông tin để xác minh. Đề nghị gửi lại kèm địa chỉ cụ thể.",
    "Nội dung là khiếu nại, tố cáo; đề nghị công dân gửi đơn theo quy định của Luật Khiếu nại, Luật Tố cáo.",
    "Nội dung không phải phản ánh hiện trường (quảng cáo, thử nghiệm ứng dụng).",
]
RETURN_REASONS = [
    "Nội dung không thuộc chức năng của đơn vị, đề nghị IOC chuyển {ward} xử lý.",
    "Vị trí phản ánh thuộc địa bàn đơn vị khác quản lý, đề nghị chuyển lại.",
    "Đây là công trình của doanh nghiệp, đề nghị chuyển Sở Xây dựng hướng dẫn.",
]
REOPEN_COMMENTS = [
    "Người dân chưa hài lòng: sau mấy hôm lại hỏng như cũ.",
    "Người dân chưa hài lòng: thực tế chưa thấy ai đến xử lý.",
    "Người dân chưa hài lòng: mới xử lý được một nửa, đoạn còn lại vẫn như cũ.",
]
STATUS_NOTE_ROUTED = "Chuyển {agency} xử lý."
DUPLICATE_NOTE = "Cùng nội dung, cùng vị trí với phản ánh đã tiếp nhận trước đó."

# Writing styles and how often they occur. ``nfd`` is text typed on macOS/iOS
# (decomposed Unicode); it is normalised on arrival like any other input.
STYLES = [("proper", 55), ("plain", 18), ("sloppy", 12), ("caps", 7), ("nfd", 8)]
CATEGORY_WEIGHTS = {"giao_thong": 20, "trat_tu_do_thi": 14, "ve_sinh_moi_truong": 15, "dien_chieu_sang": 10,
                    "cap_thoat_nuoc": 12, "cay_xanh": 6, "xay_dung": 7, "an_ninh_trat_tu": 5, "y_te": 3,
                    "giao_duc": 2, "dich_vu_cong": 3, "khac": 3}
CHANNEL_WEIGHTS = {Channel.APP: 55, Channel.WEB: 25, Channel.ASSISTED: 12, Channel.API: 8}
# Local (Asia/Ho_Chi_Minh) hour of receipt, 0..23: people report on the way to work,
# in the morning and late afternoon; few at night.
HOUR_WEIGHTS = [0.3, 0.15, 0.1, 0.1, 0.2, 0.7, 1.6, 3.0, 4.0, 4.5, 4.0, 3.4, 2.4, 2.5, 3.4, 3.8, 3.9, 3.4,
                3.0, 3.1, 2.6, 2.0, 1.2, 0.6]

LONG_CHAIN = {ReportStatus.ANSWERED, ReportStatus.PUBLISHED, ReportStatus.REOPENED, ReportStatus.RETURNED,
              ReportStatus.IN_PROGRESS}
# The steps that lead to each final status (REJECTED may also come after acceptance).
STEPS: dict[ReportStatus, list[str]] = {
    ReportStatus.NEW: [],
    ReportStatus.ACCEPTED: ["accept"],
    ReportStatus.ROUTED: ["accept", "route"],
    ReportStatus.IN_PROGRESS: ["accept", "route", "start"],
    ReportStatus.ANSWERED: ["accept", "route", "start", "answer"],
    ReportStatus.PUBLISHED: ["accept", "route", "start", "answer", "publish"],
    ReportStatus.REOPENED: ["accept", "route", "start", "answer", "publish", "reopen"],
    ReportStatus.RETURNED: ["accept", "route", "return"],
    ReportStatus.REJECTED: ["reject"],
    ReportStatus.DUPLICATE: ["duplicate"],
}


def _status_weights(age_days: float) -> dict[ReportStatus, float]:
    """Likely status of a report received ``age_days`` ago: recent ones are still open."""
    s = ReportStatus
    if age_days < 0.5:
        return {s.NEW: 50, s.ACCEPTED: 20, s.ROUTED: 18, s.IN_PROGRESS: 5, s.REJECTED: 4, s.DUPLICATE: 3}
    if age_days < 3:
        return {s.NEW: 8, s.ACCEPTED: 10, s.ROUTED: 20, s.IN_PROGRESS: 30, s.ANSWERED: 8, s.PUBLISHED: 10,
                s.REJECTED: 6, s.DUPLICATE: 5, s.RETURNED: 3}
    if age_days < 10:
        return {s.NEW: 2, s.ACCEPTED: 3, s.ROUTED: 8, s.IN_PROGRESS: 25, s.ANSWERED: 10, s.PUBLISHED: 38,
                s.REJECTED: 6, s.DUPLICATE: 4, s.RETURNED: 2, s.REOPENED: 2}
    return {s.NEW: 1, s.ACCEPTED: 1, s.ROUTED: 3, s.IN_PROGRESS: 12, s.ANSWERED: 4, s.PUBLISHED: 62,
            s.REJECTED: 7, s.DUPLICATE: 4, s.RETURNED: 2, s.REOPENED: 4}


def _pick(rng: random.Random, weighted: dict | list):
    """One key of ``{key: weight}`` (or of ``[(key, weight), ...]``), drawn by weight."""
    items = list(weighted.items()) if isinstance(weighted, dict) else list(weighted)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def _strip_marks(text: str) -> str:
    """Vietnamese without diacritics, case kept (``Đường`` gives ``Duong``)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _sloppy(text: str, rng: random.Random) -> str:
    """Chat-style Vietnamese: lower case, common abbreviations, no final full stop."""
    for word, short in (("không", "ko"), ("được", "đc"), ("người", "ng"), ("với", "vs"), ("gì", "j"),
                        ("rất", "rat"), ("quá", "qá")):
        if rng.random() < 0.7:
            text = text.replace(word, short)
    text = text.lower().rstrip(".")
    return text + rng.choice(["", "!!!", " ạ", "...", " giúp dân với"])


def _typed(text: str, style: str, rng: random.Random, *, title: bool = False, field: bool = False) -> str:
    """``text`` as a citizen with writing ``style`` would type it (before normalisation);
    ``field``: a short form field (an address), typed plainly even by chatty writers."""
    if style == "plain":
        text = _strip_marks(text)
        return text.lower() if rng.random() < 0.5 else text
    if style == "sloppy":
        return text.lower() if field else _sloppy(text, rng)
    if style == "caps":
        return text.upper() if title or rng.random() < 0.4 else text
    if style == "nfd":
        return unicodedata.normalize("NFD", text)
    return text


def _person_name(rng: random.Random) -> str:
    """A Vietnamese full name (surname, middle name(s), given name)."""
    female = rng.random() < 0.5
    surname = _pick(rng, SURNAMES)
    middle = rng.choice(FEMALE_MIDDLE if female else MALE_MIDDLE)
    given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
    if female and middle == "Thị" and rng.random() < 0.4:  # a four-part name, e.g. Nguyễn Thị Thu Hà
        middle += " " + rng.choice(FEMALE_MIDDLE[2:])
    return f"{surname} {middle} {given}"


# --------------------------------------------------------------------------- photos

# Scene colours per category: sky, ground, accent.
_PALETTES = {
    "giao_thong": ((178, 198, 214), (92, 92, 96), (40, 36, 34)),
    "trat_tu_do_thi": ((190, 205, 220), (150, 140, 130), (200, 60, 50)),
    "ve_sinh_moi_truong": ((200, 200, 190), (120, 110, 95), (30, 30, 35)),
    "dien_chieu_sang": ((25, 30, 60), (45, 45, 50), (230, 210, 120)),
    "cap_thoat_nuoc": ((150, 160, 170), (95, 95, 100), (110, 100, 70)),
    "cay_xanh": ((180, 205, 225), (100, 100, 100), (50, 120, 45)),
    "xay_dung": ((195, 200, 205), (160, 150, 135), (210, 140, 40)),
}
_DEFAULT_PALETTE = ((185, 200, 215), (110, 110, 112), (150, 60, 60))


@cache
def _noise(size: tuple[int, int]) -> Image.Image:
    """Grey sensor-like noise, made once per size (shared read-only by the photo threads)."""
    return Image.effect_noise(size, 40).convert("RGB")


# Façades of tube houses (nhà ống): cream, yellow, grey, white, pale blue, pink, green.
_FACADES = [(235, 225, 200), (240, 220, 150), (200, 200, 195), (238, 238, 232), (215, 228, 238),
            (232, 200, 190), (195, 215, 200)]


def _jitter(rng: random.Random, colour: tuple[int, int, int], amount: int = 18) -> tuple[int, int, int]:
    """``colour`` made lighter or darker by up to ``amount``, its hue kept (±4 per channel)."""
    shift = rng.randint(-amount, amount)
    return tuple(max(0, min(255, c + shift + rng.randint(-4, 4))) for c in colour)


def _generate_photo(rng: random.Random, category_code: str, after: bool = False,
                    size: tuple[int, int] = (640, 480)) -> bytes:
    """A text-free street-like JPEG (bytes) for a category: sky, road, and the problem
    drawn as shapes (pothole, water, rubbish, lamp, tree, stalls, building); ``after``
    draws the same street cleaned up."""
    width, height = size
    sky, ground, accent = _PALETTES.get(category_code, _DEFAULT_PALETTE)
    image = Image.new("RGB", size, _jitter(rng, sky))
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.35, 0.5))
    # Buildings on the horizon.
    x = 0
    while x < width:
        w = rng.randint(40, 110)
        draw.rectangle([x, horizon - rng.randint(30, 140), x + w, horizon],
                       fill=_jitter(rng, rng.choice(_FACADES), 20))
        x += w + rng.randint(0, 12)
    # Ground, road in perspective, pavement and lane markings.
    draw.rectangle([0, horizon, width, height], fill=_jitter(rng, (160, 156, 146)))
    road_colour = _jitter(rng, ground if not after else tuple(min(255, c + 15) for c in ground))
    draw.polygon([(width * 0.42, horizon), (width * 0.58, horizon), (width, height), (0, height)], fill=road_colour)
    draw.polygon([(0, horizon), (width * 0.42, horizon), (0, height * 0.8)], fill=_jitter(rng, (175, 165, 150)))
    for step in range(6):
        y0 = horizon + (height - horizon) * step / 6
        y1 = y0 + (height - horizon) / 14
        half = 2 + step * 2
        draw.rectangle([width / 2 - half, y0, width / 2 + half, y1], fill=(225, 225, 215))
    if not after:
        cx, cy = rng.randint(width // 4, 3 * width // 4), rng.randint(horizon + 60, height - 40)
        if category_code == "giao_thong":
            for _ in range(rng.randint(1, 3)):
                rx, ry = rng.randint(30, 80), rng.randint(12, 30)
                ox, oy = cx + rng.randint(-120, 120), cy + rng.randint(-30, 30)
                draw.ellipse([ox - rx, oy - ry, ox + rx, oy + ry], fill=_jitter(rng, accent, 10))
        elif category_code == "cap_thoat_nuoc":
            water = Image.new("RGB", size, _jitter(rng, accent))
            mask = Image.new("L", size, 0)
            ImageDraw.Draw(mask).rectangle([0, horizon + rng.randint(20, 80), width, height], fill=150)
            image.paste(water, (0, 0), mask)
        elif category_code == "ve_sinh_moi_truong":
            for _ in range(rng.randint(12, 25)):
                ox, oy, r = cx + rng.randint(-90, 90), cy + rng.randint(-25, 25), rng.randint(10, 28)
                draw.ellipse([ox - r, oy - r, ox + r, oy + r],
                             fill=rng.choice([(25, 25, 30), (40, 80, 160), (220, 220, 220), (60, 120, 60)]))
        elif category_code == "dien_chieu_sang":
            px = rng.randint(80, width - 80)
            draw.rectangle([px, horizon - 150, px + 8, height - 60], fill=(120, 120, 125))
            draw.line([px + 4, horizon - 150, px + 60, horizon - 160], fill=(120, 120, 125), width=6)
            draw.ellipse([px + 48, horizon - 168, px + 72, horizon - 152], fill=(60, 60, 60))
        elif category_code == "cay_xanh":
            draw.line([cx - 160, cy - 10, cx + 160, cy + 30], fill=(95, 65, 40), width=22)
            for _ in range(14):
                ox, oy, r = cx + rng.randint(-170, 170), cy + rng.randint(-50, 40), rng.randint(20, 45)
                draw.ellipse([ox - r, oy - r, ox + r, oy + r], fill=_jitter(rng, accent, 25))
        elif category_code in ("trat_tu_do_thi", "khac"):
            for _ in range(rng.randint(2, 5)):
                ox, oy = rng.randint(0, width // 2), rng.randint(horizon + 10, height - 90)
                draw.rectangle([ox, oy, ox + rng.randint(50, 110), oy + rng.randint(30, 70)],
                               fill=_jitter(rng, rng.choice([accent, (40, 90, 170), (230, 190, 40)]), 30))
        elif category_code == "xay_dung":
            bx = rng.randint(40, width - 240)
            draw.rectangle([bx, horizon - 200, bx + 200, horizon + 40], outline=(90, 90, 90), width=6)
            for k in range(1, 5):
                draw.line([bx, horizon - 200 + 48 * k, bx + 200, horizon - 200 + 48 * k], fill=(90, 90, 90), width=3)
            draw.polygon([(cx - 90, height - 30), (cx, cy - 40), (cx + 90, height - 30)], fill=_jitter(rng, accent))
        else:
            for _ in range(rng.randint(2, 4)):
                ox, oy, r = rng.randint(60, width - 60), rng.randint(horizon + 30, height - 40), rng.randint(15, 40)
                draw.ellipse([ox - r, oy - r, ox + r, oy + r], fill=_jitter(rng, accent, 30))
    image = Image.blend(image, _noise(size), 0.07)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _generate_and_store(seed: int, category_code: str, after: bool, upload_root: str) -> StoredPhoto:
    """Generate a photo and store it through the photo pipeline (runs in a worker thread:
    no database, no shared random generator)."""
    data = _generate_photo(random.Random(seed), category_code, after=after)
    return store_photo(data, upload_root)


# --------------------------------------------------------------------------- users


def _ensure_user(email: str, role: Role, name: str, password_hash: str, agency: Agency | None = None,
                 unit: AdministrativeUnit | None = None) -> User:
    """Create the demo user ``email`` or bring it back to its demo role, agency, ward
    and password (the name of an existing user is kept)."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, language="vi")
        db.session.add(user)
    user.role = role
    user.agency = agency
    user.admin_unit = unit
    user.active = True
    user.password_hash = password_hash
    return user


def _slug(name: str) -> str:
    """``Ủy ban nhân dân Phường Lê Chân`` gives ``phuong-le-chan``."""
    folded = fold(name)
    prefix = fold("Ủy ban nhân dân ")
    if folded.startswith(prefix):
        folded = folded[len(prefix):]
    return "-".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


# --------------------------------------------------------------------------- the generator


@dataclass
class _Context:
    """State shared while generating: the random generator, "now", accounts, routing
    tables, the photo threads and the queues of photos and events not yet written."""

    rng: random.Random
    now: datetime
    password_hash: str
    upload_root: str
    ioc: User
    community: User
    community_unit: AdministrativeUnit | None
    demo_agency: Agency
    unit_weights: list[float]
    committees: dict[int, Agency]
    agencies_by_name: dict[str, Agency]
    actors: dict[tuple[int, Role], User] = field(default_factory=dict)
    helpers: dict[int, User] = field(default_factory=dict)
    pool: ThreadPoolExecutor | None = None
    # Photos being written: (report, purpose, time, future of the StoredPhoto).
    pending_photos: list[tuple[Report, str, datetime, Future]] = field(default_factory=list)
    # History events waiting to be inserted: (report, actor, column values).
    events: list[tuple[Report, User | None, dict]] = field(default_factory=list)
    stored_photos: list[StoredPhoto] = field(default_factory=list)


def _actor(ctx: _Context, agency: Agency, role: Role) -> User:
    """The staff member or lead who acts for ``agency``: the contract accounts for the
    demo agency, else a demo account per agency created on first need."""
    key = (agency.id, role)
    if key not in ctx.actors:
        prefix = "staff" if role == Role.AGENCY_STAFF else "lead"
        name = _person_name(ctx.rng)
        ctx.actors[key] = _ensure_user(f"{prefix}.{_slug(agency.name)}@example.com", role, name,
                                       ctx.password_hash, agency=agency)
    return ctx.actors[key]


def _helper(ctx: _Context, unit: AdministrativeUnit) -> User:
    """The Digital Community team member who helps in ``unit``."""
    if ctx.community_unit is not None and unit.id == ctx.community_unit.id:
        return ctx.community
    if unit.id not in ctx.helpers:
        name = _person_name(ctx.rng)
        ctx.helpers[unit.id] = _ensure_user(f"community.{_slug(unit.name)}@example.com", Role.COMMUNITY_MEMBER,
                                            name, ctx.password_hash, unit=unit)
    return ctx.helpers[unit.id]


def _handling_agency(ctx: _Context, category: Category, unit: AdministrativeUnit) -> Agency:
    """The routing rule (``routing.agency_by_rule``), else the demo agency."""
    return agency_by_rule(category, ctx.committees.get(unit.id)) or ctx.demo_agency


def _received_times(rng: random.Random, now: datetime, count: int) -> list[datetime]:
    """``count`` UTC instants in the ``DEMO_PERIOD_DAYS`` days before ``now`` (at least 10
    minutes before it), weekdays busier than weekends, hours per ``HOUR_WEIGHTS`` (local)."""
    today = to_local(now).date()
    days = [today - timedelta(days=d) for d in range(DEMO_PERIOD_DAYS + 1)]
    day_weights = [0.7 if d.weekday() >= 5 else 1.0 for d in days]
    earliest, latest = now - timedelta(days=DEMO_PERIOD_DAYS), now - timedelta(minutes=10)
    times: list[datetime] = []
    while len(times) < count:
        day = rng.choices(days, weights=day_weights)[0]
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        local = datetime.combine(day, time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=LOCAL_TZ)
        instant = local.astimezone(now.tzinfo)
        if earliest <= instant <= latest:
            times.append(instant)
    return sorted(times)


def _ensure_coverage(values: list, required: list, minimum: int, eligible, rng: random.Random) -> None:
    """Reassign some entries of ``values`` (in place) so that each of ``required`` occurs at
    least ``minimum`` times, taking only from values that occur more than ``minimum``
    times and only at indexes where ``eligible(index, value)`` holds."""
    for wanted in required:
        while values.count(wanted) < minimum:
            counts = {v: values.count(v) for v in set(values)}
            donors = [i for i, v in enumerate(values)
                      if v != wanted and counts[v] > minimum and eligible(i, wanted)]
            if not donors:
                break
            values[rng.choice(donors)] = wanted


def _address(rng: random.Random, unit: AdministrativeUnit) -> dict[str, str]:
    """Street, second street, a spot phrase and a typed address for a place in ``unit``."""
    urban = URBAN_WARDS.get(unit.name)
    n, m, village = rng.randint(1, 450), rng.randint(1, 300), rng.choice(VILLAGES)
    if urban is not None or unit.level == UnitLevel.WARD:
        streets = urban[2] if urban is not None else OTHER_WARD_STREETS
        street = rng.choice(streets)
        street2 = rng.choice([s for s in streets if s != street] or OTHER_WARD_STREETS)
        spot = rng.choice(URBAN_SPOTS).format(n=n, m=m, street2=street2)
        short_ward = unit.name.removeprefix("Phường ")
        address = rng.choice([f"Số {n} {street}", f"{n} {street}, {short_ward}", f"Ngõ {m} {street}",
                              f"Ngã tư {street} - {street2}", f"Trước số {n} {street}",
                              f"{n} {street}, {unit.name.lower()}"])
    else:
        street = rng.choice(COMMUNE_ROADS)
        street2 = rng.choice(COMMUNE_ROADS)
        spot = rng.choice(COMMUNE_SPOTS).format(village=village)
        address = rng.choice([f"Thôn {village}, {unit.name}", f"Đường {street} đoạn qua thôn {village}",
                              f"Gần UBND {unit.name.lower()}", f"Xóm {rng.randint(1, 15)}, thôn {village}",
                              f"Thôn {village}"])
    return {"street": street, "street2": street2, "spot": spot, "address": address}


def _point(rng: random.Random, unit: AdministrativeUnit) -> tuple[float | None, float | None]:
    """An approximate WGS84 point near the ward's centre for urban wards (70% of the time)."""
    urban = URBAN_WARDS.get(unit.name)
    if urban is None or urban[1] is None or rng.random() < 0.3:
        return None, None
    lat, lon = urban[1]
    return round(lat + rng.uniform(-0.006, 0.006), 6), round(lon + rng.uniform(-0.006, 0.006), 6)


def _step_hours(rng: random.Random, step: str, category: Category, urgency: Urgency) -> float:
    """How long after the previous step a step typically happens, hours."""
    urgent = urgency == Urgency.URGENT
    days = category.urgent_deadline_days if urgent else category.deadline_days
    return {
        "accept": rng.uniform(0.05, 1.0) if urgent else rng.uniform(0.1, 6.0),
        "route": rng.uniform(0.05, 3.0),
        "start": rng.uniform(1.0, 40.0),
        # Calendar time to an answer: about 80% within the working-day deadline.
        "answer": rng.uniform(0.1, 1.2) * days * 1.4 * 24,
        "publish": rng.uniform(1.0, 36.0),
        "reopen": rng.uniform(12.0, 96.0),
        "reject": rng.uniform(0.2, 8.0),
        "duplicate": rng.uniform(0.1, 6.0),
        "return": rng.uniform(3.0, 60.0),
    }[step]


def _timeline(ctx: _Context, received: datetime, steps: list[str], category: Category,
              urgency: Urgency) -> list[datetime]:
    """UTC times of ``steps`` after ``received``, increasing and all before ``ctx.now``
    (compressed proportionally when the typical durations would not fit)."""
    if not steps:
        return []
    hours = [_step_hours(ctx.rng, step, category, urgency) for step in steps]
    available = (ctx.now - received).total_seconds() / 3600 - ctx.rng.uniform(0.1, 1.0)
    available = max(available, 0.05 * len(steps))
    scale = min(1.0, available / sum(hours))
    times, moment = [], received
    for h in hours:
        moment = moment + timedelta(hours=max(h * scale, 1 / 60))
        times.append(min(moment, ctx.now - timedelta(seconds=30)))
    for i in range(1, len(times)):  # keep increasing (with room for same-step events) when clipped
        if times[i] <= times[i - 1] + timedelta(seconds=5):
            times[i] = times[i - 1] + timedelta(seconds=5)
    return times


def _event(ctx: _Context, report: Report, at: datetime, action: str, actor: User | None = None,
           old: str | None = None, new: str | None = None, note: str | None = None, public: bool = False) -> None:
    """Queue one history event; ``_write_events`` inserts the queue in one statement."""
    ctx.events.append((report, actor, {"action": action, "old_value": old, "new_value": new, "note": note,
                                       "public": public, "created_at": at}))


def _write_events(ctx: _Context) -> None:
    """Insert the queued events (flushes first, for the reports' and actors' ids), in
    the order they were queued, so ids and times increase together per report."""
    if not ctx.events:
        return
    db.session.flush()
    rows = [dict(values, report_id=report.id, actor_id=actor.id if actor is not None else None)
            for report, actor, values in ctx.events]
    db.session.execute(ReportEvent.__table__.insert(), rows)  # Core: one executemany
    ctx.events.clear()


def _attach_photos(ctx: _Context, report: Report, count: int, at: datetime, purpose: str,
                   response: Response | None = None) -> None:
    """Start writing ``count`` photos for ``report`` (and its answer ``response``, for
    "after" photos) in the photo threads; their attachment rows are added by
    ``_collect_photos`` once the files exist."""
    for _ in range(count):
        future = ctx.pool.submit(_generate_and_store, ctx.rng.getrandbits(32), report.category.code,
                                 purpose == "answer", ctx.upload_root)
        ctx.pending_photos.append((report, purpose, at, future, response))


def _collect_photos(ctx: _Context, wait: bool) -> None:
    """Add an ``Attachment`` for each photo whose files are written (all of them, waiting,
    when ``wait``); re-raises a worker's error."""
    still_pending = []
    for pending in ctx.pending_photos:
        report, purpose, at, future, response = pending
        if not wait and not future.done():
            still_pending.append(pending)
            continue
        stored = future.result()
        ctx.stored_photos.append(stored)
        # Through the many-to-one side: no load of an already flushed report's collection.
        db.session.add(Attachment(report=report, response=response, purpose=purpose, kind="photo",
                                  created_at=at, **asdict(stored)))
    ctx.pending_photos = still_pending


def _build_report(ctx: _Context, received: datetime, code: str, category: Category, unit: AdministrativeUnit,
                  channel: Channel, urgency: Urgency, status: ReportStatus,
                  original: Report | None = None) -> Report:
    """One report with its history and photos, added to the session (not flushed).

    A ``DUPLICATE`` report repeats ``original`` (same category, ward and address).
    """
    rng = ctx.rng
    if original is not None:
        category, unit = original.category, original.admin_unit
    elif status == ReportStatus.DUPLICATE:
        status = ReportStatus.NEW
    place = _address(rng, unit)
    if original is not None:
        place["address"] = original.address
    style = _pick(rng, STYLES)
    title_template, body_template = rng.choice(REPORT_TEXTS.get(category.code, REPORT_TEXTS["khac"]))
    slots = dict(place, since=rng.choice(SINCE), k=rng.randint(5, 40), ward=f"UBND {unit.name.lower()}")
    title = title_template.format(**slots)
    body = body_template.format(**slots)
    words = set(fold(body).split())
    short = [t for t in SHORT_TITLES.get(category.code, []) if set(fold(t).split()) <= words]
    if short and rng.random() < 0.15:
        title = rng.choice(short)
    opener = rng.choice(OPENERS)
    if opener.endswith(", "):
        body = body[0].lower() + body[1:]
    closers = CLOSERS if category.code in DANGER_CATEGORIES else [c for c in CLOSERS if "nguy hiểm" not in c]
    body = opener + body + rng.choice(closers)
    reporter = _person_name(rng)
    email = ""
    if rng.random() < 0.4:
        email = f"{fold(reporter).replace(' ', '')}{rng.randint(60, 99)}@example.invalid"
    helper = _helper(ctx, unit) if channel == Channel.ASSISTED else None
    latitude, longitude = _point(rng, unit)
    # Text arrives as typed (``style`` includes decomposed Unicode from macOS/iOS) and is
    # NFC-normalised on arrival, exactly as the intake path does with any input.
    report = Report(
        tracking_code=code,
        title=nfc(_typed(title, style, rng, title=True))[:200],
        description=nfc(_typed(body, style, rng)),
        category=category, admin_unit=unit,
        address=nfc(_typed(place["address"], style, rng, field=True))[:255],
        latitude=latitude, longitude=longitude,
        reporter_name=nfc(_typed(reporter, style if style in ("plain", "nfd") else "proper", rng)),
        reporter_phone="09" + "".join(str(rng.randint(0, 9)) for _ in range(8)),
        reporter_email=email, reporter_name_public=rng.random() < 0.15,
        consent_method=rng.choice(["in_person", "phone"]) if helper is not None else "online",
        consent_at=received, channel=channel, status=ReportStatus.NEW, urgency=urgency,
        assisted_by=helper, duplicate_of=original, created_at=received,
    )
    db.session.add(report)
    first_event = len(ctx.events)
    _event(ctx, report, received, "created", actor=helper, new=ReportStatus.NEW.value, public=True)
    if rng.random() < (0.55 if channel == Channel.APP else 0.3):
        _attach_photos(ctx, report, rng.choice([1, 1, 2, 2, 3]), received, "report")

    steps = list(STEPS[status])
    if status == ReportStatus.REJECTED and rng.random() < 0.3:
        steps = ["accept", "reject"]
    times = _timeline(ctx, received, steps, category, urgency)
    agency = _handling_agency(ctx, category, unit)
    state = ReportStatus.NEW
    answer_text = ""
    response: Response | None = None

    def move(to: ReportStatus, at: datetime, actor: User | None, note: str | None = None,
             public: bool = True) -> None:
        nonlocal state
        _event(ctx, report, at, "status", actor=actor, old=state.value, new=to.value, note=note, public=public)
        state = to

    for step, at in zip(steps, times):
        if step == "accept":
            report.accepted_at = at
            move(ReportStatus.ACCEPTED, at, ctx.ioc)
        elif step == "route":
            report.agency = agency
            move(ReportStatus.ROUTED, at, ctx.ioc, note=STATUS_NOTE_ROUTED.format(agency=agency.name))
            _event(ctx, report, at + timedelta(seconds=1), "agency", actor=ctx.ioc, new=agency.name)
            if rng.random() < 0.12:
                choices = [a for a in (ctx.committees.get(unit.id), ctx.agencies_by_name.get(
                    "Công an thành phố Hải Phòng"), category.default_agency) if a is not None and a is not agency]
                if choices:
                    co = rng.choice(choices)
                    report.co_agencies.append(co)
                    _event(ctx, report, at + timedelta(seconds=2), "co_agency", actor=ctx.ioc, new=co.name)
        elif step == "start":
            move(ReportStatus.IN_PROGRESS, at, _actor(ctx, agency, Role.AGENCY_STAFF))
        elif step == "answer":
            staff = _actor(ctx, agency, Role.AGENCY_STAFF)
            answer_text = ANSWER_TEXTS.get(category.code, ANSWER_TEXTS["khac"]).format(
                agency=agency.name, street=place["street"], date=to_local(at).strftime("%d/%m/%Y"),
                ward=f"UBND {unit.name.lower()}")
            report.answered_at = at
            # Sent for the lead's approval: not public yet. The "after" photo goes with it.
            move(ReportStatus.ANSWERED, at, staff, public=False)
            _event(ctx, report, at + timedelta(seconds=1), "answer", actor=staff, note=answer_text)
            response = Response(report=report, agency=agency, author=staff, body=answer_text,
                                outcome=Outcome.RESOLVED, state=ResponseState.SUBMITTED, created_at=at,
                                updated_at=at, submitted_at=at)
            db.session.add(response)
            _attach_photos(ctx, report, 1, at, "answer", response)
        elif step == "publish":
            approver = _actor(ctx, agency, Role.AGENCY_LEAD if agency.requires_approval else Role.AGENCY_STAFF)
            report.published_at = at
            # The published answer: the tracking page's answer and Open311 status_notes.
            move(ReportStatus.PUBLISHED, at, approver, note=answer_text)
            response.state, response.published_at, response.updated_at = ResponseState.PUBLISHED, at, at
            response.reviewed_by = approver if approver.role == Role.AGENCY_LEAD else None
            if status == ReportStatus.PUBLISHED and rng.random() < 0.5:
                # Half the citizens say whether the answer solved it; most are satisfied.
                db.session.add(CitizenFeedback(report=report, response=response, satisfied=rng.random() < 0.8,
                                               created_at=min(at + timedelta(hours=rng.uniform(2, 72)), ctx.now)))
        elif step == "reopen":
            comment = rng.choice(REOPEN_COMMENTS)
            db.session.add(CitizenFeedback(report=report, response=response, satisfied=False, comment=comment,
                                           created_at=at))
            move(ReportStatus.REOPENED, at, None, note=comment)
        elif step == "return":
            # The agency stays recorded until the IOC routes the report again (as in the workflow).
            move(ReportStatus.RETURNED, at, _actor(ctx, agency, Role.AGENCY_STAFF),
                 note=rng.choice(RETURN_REASONS).format(ward=f"UBND {unit.name.lower()}"))
        elif step == "reject":
            move(ReportStatus.REJECTED, at, ctx.ioc, note=rng.choice(REJECT_REASONS))
        elif step == "duplicate":
            move(ReportStatus.DUPLICATE, at, ctx.ioc, note=f"{original.tracking_code} {DUPLICATE_NOTE}")
    report.status = state
    if report.accepted_at is None:
        report.urgency = Urgency.NORMAL  # urgency is set by the IOC when it classifies
    # As intake and the workflow do: provisional from receipt, then from acceptance.
    report.deadline = deadline_for(category, report.urgency, report.accepted_at or received)
    report.updated_at = max(values["created_at"] for _r, _actor, values in ctx.events[first_event:])
    return report


def load_demo(report_count: int = 320, seed: int = 2026, if_empty: bool = False,
              now: datetime | None = None) -> DemoResult:
    """Create (or refresh) the demo accounts and add ``report_count`` demo reports.

    :param report_count: reports to add (received over the 30 days before ``now``).
    :param seed: seed of the random generator; the same seed gives the same reports
        relative to ``now`` (photo file names and a generated password differ).
    :param if_empty: when any report exists, add none (accounts are still ensured).
    :param now: aware UTC "now" (default: the current time).
    :returns: a ``DemoResult`` with the number of reports added, the contract logins
        and their password.
    :raises DemoDataError: when reference data (categories, units, the demo agency) is missing.

    Accounts are idempotent: an existing one gets back its demo role, agency, ward,
    active flag and the current demo password. Statuses are chosen by age (recent
    reports are mostly still open); every status, channel, urgency and category
    occurs when ``report_count`` allows it. Reports in the open statuses after
    routing have a handling agency and a deadline in working days from acceptance;
    history events carry increasing times and plausible actors. The session is
    flushed in batches; the caller commits.
    """
    rng = random.Random(seed)
    now = (now or utcnow()).replace(microsecond=0)
    password = demo_password()
    password_hash = generate_password_hash(password)

    agency = db.session.scalar(select(Agency).where(Agency.name == DEMO_AGENCY_NAME, Agency.valid_to.is_(None)))
    categories = {c.code: c for c in db.session.scalars(select(Category).where(Category.active.is_(True)))}
    units = list(db.session.scalars(
        select(AdministrativeUnit).where(AdministrativeUnit.valid_to.is_(None),
                                         AdministrativeUnit.level != UnitLevel.PROVINCE,
                                         AdministrativeUnit.level != UnitLevel.DISTRICT)
        .order_by(AdministrativeUnit.code)))
    if agency is None or not categories or not units:
        raise DemoDataError(f"Reference data is missing (categories, wards or {DEMO_AGENCY_NAME}): "
                            "run `flask load-reference` first.")
    community_unit = next((u for u in units if u.name == COMMUNITY_WARD_NAME),
                          next((u for u in units if u.level == UnitLevel.WARD), units[0]))

    users: dict[Role, User] = {}
    for email, role, name in DEMO_ACCOUNTS:
        users[role] = _ensure_user(
            email, role, name, password_hash,
            agency=agency if role in (Role.AGENCY_STAFF, Role.AGENCY_LEAD) else None,
            unit=community_unit if role == Role.COMMUNITY_MEMBER else None)
    db.session.flush()
    ensure_demo_api_client()  # an Open311 key = HPSMART_DEMO_API_KEY, when that is set
    logins = [(email, role.value) for email, role, _name in DEMO_ACCOUNTS]

    if if_empty and db.session.scalar(select(func.count(Report.id))):
        return DemoResult(reports_created=0, logins=logins, password=password)

    committees = {a.admin_unit_id: a for a in db.session.scalars(
        select(Agency).where(Agency.kind == AgencyKind.WARD_COMMITTEE, Agency.valid_to.is_(None)))}
    current = {a.name: a for a in db.session.scalars(select(Agency).where(Agency.valid_to.is_(None)))}
    ctx = _Context(
        rng=rng, now=now, password_hash=password_hash, upload_root=current_app.config["UPLOAD_FOLDER"],
        ioc=users[Role.IOC_OPERATOR], community=users[Role.COMMUNITY_MEMBER], community_unit=community_unit,
        demo_agency=agency,
        unit_weights=[URBAN_WARDS[u.name][0] if u.name in URBAN_WARDS else 0.8 for u in units],
        committees=committees, agencies_by_name=current)
    ctx.actors[(agency.id, Role.AGENCY_STAFF)] = users[Role.AGENCY_STAFF]
    ctx.actors[(agency.id, Role.AGENCY_LEAD)] = users[Role.AGENCY_LEAD]

    # Plan: when, what, where, how and how far each report got.
    received = _received_times(rng, now, report_count)
    codes = [c for c in categories if c in CATEGORY_WEIGHTS] + [c for c in categories if c not in CATEGORY_WEIGHTS]
    plan_categories = rng.choices(codes, weights=[CATEGORY_WEIGHTS.get(c, 2) for c in codes], k=report_count)
    plan_channels = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()), k=report_count)
    plan_urgency = [Urgency.URGENT if rng.random() < 0.1 else Urgency.NORMAL for _ in range(report_count)]
    ages = [(now - t).total_seconds() / 86400 for t in received]
    plan_status = [_pick(rng, _status_weights(age)) for age in ages]
    minimum = max(1, report_count // 60)
    _ensure_coverage(plan_channels, list(Channel), max(1, report_count // 100), lambda i, v: True, rng)
    _ensure_coverage(plan_status, list(ReportStatus), minimum,
                     lambda i, v: i > 0 and ages[i] >= (2 if v in LONG_CHAIN else 0.1), rng)
    # Urgency is set by the IOC on acceptance; reports never accepted stay normal.
    _ensure_coverage(plan_urgency, list(Urgency), 1, lambda i, v: "accept" in STEPS[plan_status[i]], rng)
    # A duplicate repeats an earlier report of the last days, of the same category when there is one.
    originals: dict[int, int] = {}
    for i, status in enumerate(plan_status):
        if status != ReportStatus.DUPLICATE:
            continue
        window = [j for j in range(max(0, i - 60), i)
                  if plan_status[j] not in (ReportStatus.DUPLICATE, ReportStatus.REJECTED)]
        same = [j for j in window if plan_categories[j] == plan_categories[i]]
        if same or window:
            originals[i] = rng.choice(same or window)
            plan_categories[i] = plan_categories[originals[i]]
        else:
            plan_status[i] = ReportStatus.NEW
    fixed = set(originals) | set(originals.values())
    _ensure_coverage(plan_categories, codes, 1, lambda i, v: i not in fixed, rng)

    # Reserve the tracking codes first, in order of receipt (no pending rows to autoflush yet).
    tracking_codes = [next_tracking_code(t) for t in received]
    built: list[Report] = []
    try:
        with ThreadPoolExecutor(max_workers=PHOTO_WORKERS) as ctx.pool, db.session.no_autoflush:
            for i in range(report_count):
                channel = plan_channels[i]
                if channel == Channel.ASSISTED and rng.random() < 0.6:
                    unit = community_unit
                else:
                    unit = rng.choices(units, weights=ctx.unit_weights)[0]
                original = built[originals[i]] if i in originals else None
                built.append(_build_report(ctx, received[i], tracking_codes[i], categories[plan_categories[i]],
                                           unit, channel, plan_urgency[i], plan_status[i], original))
                if (i + 1) % 100 == 0:
                    _collect_photos(ctx, wait=False)
                    _write_events(ctx)
            _write_events(ctx)
            _collect_photos(ctx, wait=True)
            db.session.flush()
    except BaseException:
        for future in (f for *_rest, f in ctx.pending_photos if f.done() and not f.exception()):
            ctx.stored_photos.append(future.result())
        for stored in ctx.stored_photos:
            delete_stored(stored, ctx.upload_root)
        raise
    return DemoResult(reports_created=report_count, logins=logins, password=password)
