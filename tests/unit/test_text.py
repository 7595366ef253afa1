import unicodedata

from hpsmart.text import fold, nfc, vietnamese_sort_key


def test_nfc_and_nfd_input_are_stored_identically():
    name = "Nguyễn Thị Hồng"
    decomposed = unicodedata.normalize("NFD", name)
    assert decomposed != name
    assert nfc(decomposed) == nfc(name) == name
    assert nfc("  x ") == "x" and nfc(None) == ""
    assert nfc("a\x00b\x1bc\td\ne") == "abc\td\ne"  # NUL and escapes dropped, tab and newline kept


def test_fold_removes_accents_and_case_and_dd():
    assert fold("Đường Nguyễn  Đình Chiểu") == "duong nguyen dinh chieu"
    assert fold("ĐIỆN CHIẾU SÁNG") == fold("điện chiếu sáng") == "dien chieu sang"
    assert fold(unicodedata.normalize("NFD", "Phường Đa Kao")) == "phuong da kao"


def test_vietnamese_order():
    names = ["Đông", "Dương", "Anh", "Ánh", "Ăn", "Ân", "Bình", "Ơn", "Ô", "O"]
    assert sorted(names, key=vietnamese_sort_key) == ["Anh", "Ánh", "Ăn", "Ân", "Bình", "Dương", "Đông",
                                                      "O", "Ô", "Ơn"]


def test_single_line_fields_lose_line_breaks_and_bidi_controls():
    from hpsmart.text import single_line

    assert single_line(" Ổ gà\r\nBcc: x@y.vn \u202eRTL\u2066 ") == "Ổ gà Bcc: x@y.vn RTL"
    assert single_line(unicodedata.normalize("NFD", "Hồng")) == "Hồng"
