"""An item's 办事指南 as sections, the same on the detail screen, on paper and in speech.

What a guide says comes from two places: the catalog's own data (kind, identity, materials, fees, time
limits) and the item's :class:`~kiosk.catalog.model.Guide` with its department's
:class:`~kiosk.catalog.model.Office` (``config/catalog/guides/<dept>.toml``: description, conditions,
where to go, legal basis, how it differs from look-alikes). :func:`guide_sections` puts them together in
one order: 事项说明, 易混事项, 申请条件, 申请材料, 办理地点和时间, 收费标准, 办理时限, 设定依据, 进度查询.

The fixed wording around the data (headings, "免费", "承诺时限 3 个工作日" …) is the catalog's own
vocabulary, kept here in all three languages (繁體 written out, so no text needs OpenCC at run time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from kiosk.catalog.model import Department, Material, ServiceItem

SECTION_KEYS: tuple[str, ...] = ("description", "differs", "conditions", "materials", "where", "fees", "time",
                                 "legal_basis", "progress")
"""The sections of a guide, in reading order."""

# key → (简体, 繁體, English); {placeholders} are filled by str.format.
PHRASES: dict[str, tuple[str, str, str]] = {
    "title_description": ("事项说明", "事項說明", "About this service"),
    "title_differs": ("易混事项", "易混事項", "Not to be confused with"),
    "title_conditions": ("申请条件", "申請條件", "Who can apply"),
    "title_materials": ("申请材料", "申請材料", "What to bring"),
    "title_where": ("办理地点和时间", "辦理地點和時間", "Where and when"),
    "title_fees": ("收费标准", "收費標準", "Fees"),
    "title_time": ("办理时限", "辦理時限", "Time limits"),
    "title_legal_basis": ("设定依据", "設定依據", "Legal basis"),
    "title_progress": ("进度查询", "進度查詢", "Following progress"),
    "guide": ("办事指南", "辦事指南", "guide"),
    "differs": ("与「{other}」的区别：{note}", "與「{other}」的區別：{note}", "Unlike \"{other}\": {note}"),
    "id_none": ("无需身份核验，不需携带材料。", "無需身分核驗，不需攜帶材料。",
                "No identity check; nothing to bring."),
    "id_lead": ("身份核验：{ways}。", "身分核驗：{ways}。", "Identity: {ways}."),
    "or": ("；或", "；或", "; or "),
    "id_id_card": ("本人有效居民身份证原件（本机读卡）", "本人有效居民身分證正本（本機讀卡）",
                   "your valid resident ID card (read here)"),
    "id_id_card_face": ("本人有效居民身份证原件，并在本机刷脸核验", "本人有效居民身分證正本，並在本機刷臉核驗",
                        "your valid resident ID card and a face check here"),
    "id_social_security_card": ("本人社会保障卡（本机读卡）", "本人社會保障卡（本機讀卡）",
                                "your social security card (read here)"),
    "id_app_qr": ("闽政通、i厦门App的身份码（本机扫码）", "閩政通、i廈門App的身分碼（本機掃碼）",
                  "the ID code in the Minzhengtong or i Xiamen app (scanned here)"),
    "material": ("{name}：{counts}{pages}{optional}", "{name}：{counts}{pages}{optional}",
                 "{name}: {counts}{pages}{optional}"),
    "originals": ("原件{n}份", "正本{n}份", "{n} originals"),
    "originals_one": ("原件1份", "正本1份", "1 original"),
    "copies": ("复印件{n}份", "影本{n}份", "{n} copies"),
    "copies_one": ("复印件1份", "影本1份", "1 copy"),
    "and": ("，", "，", ", "),
    "pages": ("（共{n}页）", "（共{n}頁）", " ({n} pages)"),
    "optional": ("（视情况提供）", "（視情況提供）", " (only if it applies)"),
    "scanned": ("，在本机高拍仪拍摄上传", "，在本機高拍儀拍攝上傳", "; photographed here by the document camera"),
    "e_license": ("{name}：已入电子证照库，本机自动调取，免提交", "{name}：已入電子證照庫，本機自動調取，免提交",
                  "{name}: held as an electronic licence, fetched here; nothing to hand in"),
    "station": ("本机自助办理：24小时可用，节假日照常。", "本機自助辦理：24小時可用，節假日照常。",
                "At this kiosk, 24 hours a day, holidays included."),
    "station_guide": ("本机可随时查看和打印本指南；业务须到窗口办理。", "本機可隨時查看和列印本指南；業務須到窗口辦理。",
                      ("This kiosk shows and prints this guide at any time; the application itself is made "
                      "at the counter.")),
    "back_office": ("本机提交后由{centre}审核，无需再跑窗口。", "本機提交後由{centre}審核，無需再跑窗口。",
                    "After you submit here, {centre} reviews it; no need to visit the counter."),
    "appointment": ("在本机预约后，按预约时间到窗口办理。", "在本機預約後，按預約時間到窗口辦理。",
                    "Book here, then go to the counter at the booked time."),
    "counter": ("窗口：{centre}，{address}", "窗口：{centre}，{address}", "Counter: {centre}, {address}"),
    "counter_at": ("窗口：{where}", "窗口：{where}", "Counter: {where}"),
    "hours": ("窗口时间：{hours}", "窗口時間：{hours}", "Counter hours: {hours}"),
    "phone": ("咨询电话：{phone}，或拨打12345政务服务便民热线。", "諮詢電話：{phone}，或撥打12345政務服務便民熱線。",
              "Enquiries: {phone}, or the 12345 government service hotline."),
    "hotline": ("咨询电话：12345政务服务便民热线。", "諮詢電話：12345政務服務便民熱線。",
                "Enquiries: the 12345 government service hotline."),
    "free": ("免费。", "免費。", "Free of charge."),
    "fee": ("{amount}元（{note}），可在本机扫码缴费。", "{amount}元（{note}），可在本機掃碼繳費。",
            "¥{amount} ({note}); pay here by scanning a QR code."),
    "platform_fee": ("金额以主管部门核定为准，可在本机扫码缴纳；办理本身不收费。",
                     "金額以主管部門核定為準，可在本機掃碼繳納；辦理本身不收費。",
                     "The amount is set by the department; pay it here by QR code. The service itself is free."),
    "instant": ("承诺时限：即办，在本机当场办结。", "承諾時限：即辦，在本機當場辦結。",
                "Promised: done on the spot at this kiosk."),
    "promised_one": ("承诺时限：1个工作日。", "承諾時限：1個工作日。", "Promised: 1 working day."),
    "promised": ("承诺时限：{n}个工作日。", "承諾時限：{n}個工作日。", "Promised: {n} working days."),
    "legal": ("法定时限：{n}个工作日。", "法定時限：{n}個工作日。", "Legal limit: {n} working days."),
    "legal_one": ("法定时限：1个工作日。", "法定時限：1個工作日。", "Legal limit: 1 working day."),
    "legal_none": ("法定时限：法律法规未另设时限，当场办结。", "法定時限：法律法規未另設時限，當場辦結。",
                   "Legal limit: none set by law; done on the spot."),
    "legal_guide": ("本指南当场打印；窗口业务的承诺时限和法定时限以受理回执所载为准。",
                    "本指南當場列印；窗口業務的承諾時限和法定時限以受理回執所載為準。",
                    ("This guide prints at once; for the counter application, the promised and legal limits are "
                    "the ones on its acknowledgement slip.")),
    "fee_guide": ("打印本指南免费；窗口业务如需缴费，以窗口告知的收费标准为准。",
                  "列印本指南免費；窗口業務如需繳費，以窗口告知的收費標準為準。",
                  "This guide is free; any fee for the counter application is the one the counter states."),
    "progress_instant": ("当场办结，结果在本机显示或打印，无需再查进度。", "當場辦結，結果在本機顯示或列印，無需再查進度。",
                         "Done on the spot: the result is shown or printed here; nothing to follow up."),
    "progress_apply": ("凭回执上的办件编号，在本机「办件进度查询」、i厦门或闽政通App查询，也可扫回执二维码。",
                       "憑回執上的辦件編號，在本機「辦件進度查詢」、i廈門或閩政通App查詢，也可掃回執二維碼。",
                       ("With the tracking number on your slip: \"Application progress\" on this kiosk, the "
                       "i Xiamen or Minzhengtong app, or the QR code on the slip.")),
    "progress_sms": ("办结后短信通知；有疑问请拨打12345。", "辦結後簡訊通知；有疑問請撥打12345。",
                     "A text message tells you when it is done; questions: call 12345."),
    "progress_appointment": ("预约记录可在i厦门或闽政通App查看和取消；改期请重新预约。",
                             "預約記錄可在i廈門或閩政通App查看和取消；改期請重新預約。",
                             ("See or cancel the booking in the i Xiamen or Minzhengtong app; to change it, "
                             "book again.")),
    "progress_guide": ("窗口受理后，凭回执办件编号在本机、i厦门或闽政通App查询进度，或拨打12345。",
                       "窗口受理後，憑回執辦件編號在本機、i廈門或閩政通App查詢進度，或撥打12345。",
                       ("Once the counter accepts your application, follow it with the tracking number on this "
                       "kiosk, in the i Xiamen or Minzhengtong app, or on 12345.")),
}


@dataclass(frozen=True)
class GuideSection:
    """One section of a guide: its key (:data:`SECTION_KEYS`), heading and paragraphs."""

    key: str
    title: str
    lines: tuple[str, ...]


def phrase(key: str, language: str, **values: object) -> str:
    """One of :data:`PHRASES` in ``language`` (简体 for a language it does not have), filled in."""
    zh_cn, zh_tw, en = PHRASES[key]
    text = zh_tw if language == "zh_TW" else en if language == "en" else zh_cn
    return text.format(**values) if values else text


def guide_title(item: ServiceItem, language: str) -> str:
    """The guide's title: the item's name, with 办事指南 after it unless the name already says 指南."""
    name = item.name.get(language)
    if item.kind == "guide" or name.endswith(("指南", "guide", "Guide")):
        return name
    if language == "en":
        return f"{name}: {phrase('guide', language)}"
    return name + phrase("guide", language)


def guide_sections(item: ServiceItem, department: Department | None, language: str,
                   others: dict[str, str] | None = None) -> list[GuideSection]:
    """Every section the item has, in :data:`SECTION_KEYS` order. ``others`` names the items a
    ``differs_from`` note points at (code → name in ``language``); a section without content is left out."""
    lines: dict[str, list[str]] = {key: [] for key in SECTION_KEYS}
    guide = item.guide
    office = department.office if department else None
    if guide is not None:
        lines["description"].append(guide.description.get(language))
        for other in guide.differs_from:
            name = (others or {}).get(other.item, other.item)
            lines["differs"].append(phrase("differs", language, other=name, note=other.note.get(language)))
        lines["conditions"].append(guide.conditions.get(language))
    lines["materials"] = _materials(item, language)
    lines["where"] = _where(item, department, language)
    lines["fees"].append(_fee(item, language))
    lines["time"] = _time(item, language)
    basis = guide.legal_basis if guide is not None and guide.legal_basis is not None else \
        office.legal_basis if office is not None else None
    if basis is not None:
        lines["legal_basis"].append(basis.get(language))
    lines["progress"] = _progress(item, language)
    return [GuideSection(key, phrase("title_" + key, language), tuple(text))
            for key, text in lines.items() if text]


def _materials(item: ServiceItem, language: str) -> list[str]:
    out: list[str] = []
    if item.identity == "none":
        if item.kind != "guide":
            out.append(phrase("id_none", language))
    else:
        ways = phrase("or", language).join(phrase("id_" + level, language) for level in item.accepted_identity())
        out.append(phrase("id_lead", language, ways=ways))
    # An item done here captures its paper on the document camera; a guide item's go to the counter.
    out += [material_line(m, language, scanned=True) for m in item.materials]
    out += [material_line(m, language) for m in (item.guide.materials if item.guide else ())]
    return out


def material_line(m: Material, language: str, *, scanned: bool = False) -> str:
    """One material as the guide lists it: 原件 and 复印件 counts, pages, whether it is needed only at times,
    and (``scanned``) that the terminal photographs it."""
    name = m.name.get(language)
    optional = phrase("optional", language) if m.optional else ""
    if m.e_license:
        return phrase("e_license", language, name=name) + optional
    counts = [phrase("originals_one" if m.originals == 1 else "originals", language, n=m.originals)] \
        if m.originals else []
    counts += [phrase("copies_one" if m.copies == 1 else "copies", language, n=m.copies)] if m.copies else []
    pages = phrase("pages", language, n=m.pages) if m.pages > 1 else ""
    line = phrase("material", language, name=name, counts=phrase("and", language).join(counts), pages=pages,
                  optional=optional)
    return line + phrase("scanned", language) if scanned else line


def _where(item: ServiceItem, department: Department | None, language: str) -> list[str]:
    office = department.office if department else None
    out: list[str] = []
    if item.kind == "guide":
        out.append(phrase("station_guide", language))
    else:
        out.append(phrase("station", language))
        if item.kind == "appointment":
            out.append(phrase("appointment", language))
        elif not item.instant and department is not None:
            out.append(phrase("back_office", language, centre=department.full_name.get(language)))
    if office is not None:
        where = item.guide.where if item.guide is not None else None
        out.append(phrase("counter_at", language, where=where.get(language)) if where is not None else
                   phrase("counter", language, centre=office.centre.get(language), address=office.address.get(language)))
        hours = item.guide.hours if item.guide is not None and item.guide.hours is not None else \
            office.hours if where is None else None
        if hours is not None:
            out.append(phrase("hours", language, hours=hours.get(language)))
        out.append(phrase("phone", language, phone=office.phone) if office.phone else phrase("hotline", language))
    return out


def _fee(item: ServiceItem, language: str) -> str:
    if item.kind == "guide":
        return phrase("fee_guide", language)
    if item.payment == "platform_amount":
        return phrase("platform_fee", language)
    if item.fee_yuan > 0:
        note = item.fee_note.get(language) if item.fee_note else ""
        return phrase("fee", language, amount=_yuan(item.fee_yuan), note=note)
    return phrase("free", language)


def _yuan(amount: Decimal) -> str:
    return f"{amount:.2f}".rstrip("0").rstrip(".") if amount % 1 else str(int(amount))


def _time(item: ServiceItem, language: str) -> list[str]:
    if item.kind == "guide":
        return [phrase("legal_guide", language)]
    days = item.promised_days
    promised = phrase("instant", language) if item.instant or not days else \
        phrase("promised_one", language) if days == 1 else phrase("promised", language, n=days)
    legal = item.legal_days
    lawful = phrase("legal_none", language) if legal is None else \
        phrase("legal_one", language) if legal == 1 else phrase("legal", language, n=legal)
    return [promised, lawful] if legal is not None or item.instant else [promised]


def _progress(item: ServiceItem, language: str) -> list[str]:
    if item.kind == "guide":
        return [phrase("progress_guide", language)]
    if item.kind == "appointment":
        return [phrase("progress_appointment", language)]
    if item.kind == "apply" and not item.instant:
        return [phrase("progress_apply", language), phrase("progress_sms", language)]
    return [phrase("progress_instant", language)]


def item_guide(item: ServiceItem, departments: Mapping[str, Department],
               name_of: Callable[[str], str | None], language: str) -> list[tuple[str, str, list[str]]]:
    """The guide as plain data for a view or a print job: ``(key, heading, paragraphs)`` per section.
    ``name_of`` gives another item's name in ``language`` (for the 易混事项), None for an unknown code."""
    others = {d.item: name_of(d.item) or d.item for d in (item.guide.differs_from if item.guide else ())}
    return [(s.key, s.title, list(s.lines))
            for s in guide_sections(item, departments.get(item.department_code), language, others)]


def printable_guide(item: ServiceItem, departments: Mapping[str, Department],
                    name_of: Callable[[str], str | None]) -> dict[str, object]:
    """What the printer's guide sheet needs (简体, as every slip is printed): its title, the department's
    full name and the sections. JSON-ready, as print jobs are."""
    department = departments.get(item.department_code)
    return {"title": guide_title(item, "zh_CN"),
            "department": department.full_name.zh_CN if department else item.department,
            "sections": [[title, lines] for _, title, lines in item_guide(item, departments, name_of, "zh_CN")]}
