"""The report's wording in English and simplified Chinese: labels, statuses and the levers built from the figures.

Both languages render the same figures (``report.json``); only words differ. ``default_language`` picks
Chinese for a plan whose city is written in Chinese characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("zh", "en")

STATUS: dict[Lang, dict[str, str]] = {
    "en": {"met": "met", "on track": "on track", "at risk": "at risk", "off track": "off track",
           "no data": "no data", "not assessed": "not assessed"},
    "zh": {"met": "已达成", "on track": "进展正常", "at risk": "存在风险", "off track": "偏离目标",
           "no data": "无数据", "not assessed": "未评估"},
}

TEXT: dict[Lang, dict[str, str]] = {
    "en": {
        "title": "New-energy fleet targets",
        "html_lang": "en",
        "records_to": "Data to {date} (flows: the 12 months {start} to {end})",
        "against": "against the transport targets of",
        "issued": "issued",
        "generated": "Generated {at} (Asia/Shanghai) by evplan.",
        "synthetic": "Synthetic data.",
        "about_data": "About the data.",
        "at_a_glance": "Targets at a glance",
        "col_target": "Target and clause", "col_goal": "Target", "col_latest": "Latest (cut-off)",
        "col_projection": "Projected for target year<br>({level} % prediction interval)", "col_status": "Status",
        "col_lever": "Lever",
        "scope_county": "city and every county", "scope_city": "city",
        "clause": "clause",
        "turnover": "met by natural turnover",
        "charts": "Projections against the targets",
        "plan": "Plan", "assessment": "Assessment", "gap": "Lever", "read_as": "Read as",
        "by_county": "By county, {date}",
        "county": "County", "buses": "Buses", "ne_buses": "NE buses", "ne_bus_share": "NE bus share",
        "bus_target": "Bus target", "taxis": "Taxis", "ne_taxis": "NE taxis", "ne_taxi_share": "NE taxi share",
        "taxi_target": "Taxi target",
        "matrix": "{label} by county and year (stock on 31 Dec)",
        "operators": "Who still runs non-NE vehicles (from the records' operator or depot)",
        "operator": "Operator", "vehicles": "Vehicles", "class": "Class", "none_left": "No non-NE vehicle left.",
        "clause22": "Clause 22: fast charging at every expressway service area by 2025",
        "sides_with_station": "Service-area sides with fast charging (plan)", "sides_total": "Active sides",
        "sides_today": "Sides meeting clause 22 today", "closed": "Closed service areas (not counted)",
        "ratio": "EVs per public charger (车桩比) by county", "evs": "EVs in service", "chargers": "Public chargers",
        "ratio_col": "EVs per charger", "not_given": "not given by the plan",
        "decomposition": "Operating CO2 since {base}: where the change came from (LMDI)",
        "decomp_note": "Additive LMDI-I by class; the terms add up exactly to the change. Grid factor by year from "
                       "grid_factors.csv.",
        "activity": "Activity", "structure": "Structure", "intensity": "Energy intensity", "mix": "Fuel mix",
        "grid_factor": "Grid factor", "total": "Total change", "city_total": "City",
        "hindcast": "How good are the intervals?",
        "hindcast_text": "Hindcast on these records: fitted to {fit} and projected to {to}, the observed {to} value "
                         "fell inside the {level} % interval in {inside} of {cases} (indicator × county) cases "
                         "({share}).",
        "quality": "Data quality", "method": "Method and sources",
        "not_assessed": "Transport targets of the plan not assessed from fleet records",
        "why": "Why not here",
        "scenario": "Additions scenario", "cutoff": "Data cut-off",
        "lever_switch_now": "{n} vehicles to switch now", "lever_share": "NE share of additions ≥ {share}",
        "lever_retire": "last non-NE retires {date}", "lever_early": "{n} early retirements needed",
        "lever_extra": "+{n} NE additions/yr", "lever_co2": "cut {t} t CO2 in {year}", "lever_none": "none",
        "t_co2": "t CO2",
        "no_plan": "not assessed: no plan given (evplan fleet report --plan-summary summary.json)",
    },
    "zh": {
        "title": "新能源车辆目标评估",
        "html_lang": "zh-CN",
        "records_to": "数据截至 {date}（流量指标：{start} 至 {end} 的 12 个月）",
        "against": "对照",
        "issued": "印发于",
        "generated": "由 evplan 生成于 {at}（北京时间）。",
        "synthetic": "合成数据。",
        "about_data": "关于数据。",
        "at_a_glance": "目标一览",
        "col_target": "目标与条款", "col_goal": "目标值", "col_latest": "最新值（截止日）",
        "col_projection": "目标年预测<br>（{level}% 预测区间）", "col_status": "状态", "col_lever": "抓手",
        "scope_county": "全市及各县（市、区）", "scope_city": "全市",
        "clause": "第{n}条",
        "turnover": "自然更新即可达成",
        "charts": "预测与目标对照",
        "plan": "方案原文", "assessment": "评估", "gap": "抓手", "read_as": "理解为",
        "by_county": "分县（市、区）情况，{date}",
        "county": "县（市、区）", "buses": "公交车", "ne_buses": "新能源公交车", "ne_bus_share": "新能源公交车占比",
        "bus_target": "公交目标", "taxis": "出租车", "ne_taxis": "新能源出租车", "ne_taxi_share": "新能源出租车占比",
        "taxi_target": "出租车目标",
        "matrix": "{label}（分县、分年，12月31日保有量）",
        "operators": "仍有非新能源车辆的经营者（据记录中的经营者或场站）",
        "operator": "经营者", "vehicles": "车辆数", "class": "车型", "none_left": "已无非新能源车辆。",
        "clause22": "第22条：2025年前实现高速公路服务区快充站全覆盖",
        "sides_with_station": "有快充站的服务区（单侧，规划）", "sides_total": "在用服务区（单侧）",
        "sides_today": "目前已满足第22条的服务区（单侧）", "closed": "已关闭的服务区（不计入）",
        "ratio": "各县（市、区）车桩比（新能源汽车 / 公共充电桩）", "evs": "新能源汽车保有量", "chargers": "公共充电桩",
        "ratio_col": "车桩比", "not_given": "规划未给出",
        "decomposition": "营运车辆二氧化碳排放较{base}年的变化来源（LMDI 分解）",
        "decomp_note": "按车型的加法 LMDI-I 分解，各项之和严格等于总变化；电网排放因子按年份取自 grid_factors.csv。",
        "activity": "运输活动", "structure": "结构", "intensity": "能耗强度", "mix": "能源结构",
        "grid_factor": "电网排放因子", "total": "总变化", "city_total": "全市",
        "hindcast": "预测区间是否可靠？",
        "hindcast_text": "在本数据上回测：以截至 {fit} 年的数据拟合并预测 {to} 年，{cases} 个（指标 × 县）情形中有 "
                         "{inside} 个的 {to} 年实际值落在 {level}% 区间内（{share}）。",
        "quality": "数据质量", "method": "方法与来源",
        "not_assessed": "方案中未能用车辆记录评估的交通目标",
        "why": "原因",
        "scenario": "新增车辆情景", "cutoff": "数据截止日",
        "lever_switch_now": "需立即替换 {n} 辆", "lever_share": "新增车辆新能源占比 ≥ {share}",
        "lever_retire": "最后一辆非新能源车于 {date} 达到报废年限", "lever_early": "需提前淘汰 {n} 辆",
        "lever_extra": "每年需多增 {n} 辆新能源车", "lever_co2": "{year} 年需减排 {t} 吨二氧化碳", "lever_none": "无需额外措施",
        "t_co2": "吨二氧化碳",
        "no_plan": "未评估：未提供规划结果（evplan fleet report --plan-summary summary.json）",
    },
}

TITLES: dict[Lang, dict[str, str]] = {
    "en": {
        "ne_bus_share": "New-energy share of buses",
        "ne_taxi_share": "New-energy share of taxis",
        "ne_or_clean_new_vehicle_share": "New-energy or clean share of new vehicles",
        "ev_new_passenger_car_share": "Electric share of new passenger cars",
        "operating_co2_per_converted_turnover": "CO2 per converted turnover of operating vehicles, change",
    },
    "zh": {
        "ne_bus_share": "新能源公交车占比",
        "ne_taxi_share": "新能源出租车占比",
        "ne_or_clean_new_vehicle_share": "当年新增新能源、清洁能源交通工具占比",
        "ev_new_passenger_car_share": "电动乘用车占新车销售比例",
        "operating_co2_per_converted_turnover": "营运交通工具单位换算周转量碳排放强度变化",
    },
}


def default_language(plan: Mapping[str, str]) -> Lang:
    """``plan.language`` when set (``zh``/``zh-CN`` or ``en``); else Chinese for a city named in Chinese."""
    lang = str(plan.get("language", "")).lower()
    if lang.startswith("zh"):
        return "zh"
    if lang.startswith("en"):
        return "en"
    city = plan.get("city", "")
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in city) else "en"


def t(lang: Lang, key: str, **values: Any) -> str:
    """The text of ``key`` in ``lang`` with ``values`` filled in."""
    return TEXT[lang][key].format(**values) if values else TEXT[lang][key]


def status(lang: Lang, value: str) -> str:
    return STATUS[lang].get(value, value)


def lever(lang: Lang, assessed: Mapping[str, Any], percent: Any) -> str:
    """The gap of an assessed target as a lever a manager can pull, in ``lang``."""
    gap = assessed.get("gap") or {}
    if gap.get("co2_t") is not None:
        if gap["co2_t"] <= 0:
            return t(lang, "lever_none")
        return t(lang, "lever_co2", t=f"{gap['co2_t']:,.0f}", year=assessed["target_year"])
    if assessed.get("kind") == "stock share":
        if not gap.get("years_left"):
            n = gap.get("vehicles_total") or 0
            return t(lang, "lever_switch_now", n=f"{n:,}") if n else t(lang, "lever_none")
        parts = []
        if gap.get("by_turnover"):
            parts.append(t(lang, "turnover"))
        if gap.get("ne_share_of_additions_needed") is not None:
            parts.append(t(lang, "lever_share", share=percent(gap["ne_share_of_additions_needed"])))
        if gap.get("last_non_ne_retires_on"):
            parts.append(t(lang, "lever_retire", date=gap["last_non_ne_retires_on"]))
        if gap.get("early_retirements_needed"):
            parts.append(t(lang, "lever_early", n=f"{gap['early_retirements_needed']:,}"))
        return ("；" if lang == "zh" else "; ").join(parts) or "–"
    per_year = gap.get("vehicles_per_year")
    if per_year is None:
        return "–"
    if per_year <= 0:
        return t(lang, "lever_none")
    return t(lang, "lever_extra", n=f"{per_year:,.0f}")


#: The status rules and the default scenario in Chinese (the English ones live with the figures).
STATUS_RULES_ZH: dict[str, str] = {
    "met": "目标年已有观测值且达到目标（目标年尚未观测时从不判为已达成）",
    "on track": "预测值及其预测区间的不利端均达到目标；或所有待替换车辆在目标年前达到强制报废年限、且新增车辆情景以新能源车替代（自然更新即可达成）",
    "at risk": "预测值达到目标但不利端未达到，或预测值未达到但目标落在区间内",
    "off track": "整个区间均未达到目标，或目标年已过而未达成",
    "no data": "无计数、无基准年或无法预测",
}
SCENARIO_ZH = {"the NE share of additions of the last 12 months continues": "沿用最近 12 个月新增车辆的新能源占比"}


def goal(lang: Lang, text: str) -> str:
    """A target phrase (``≥ 100 % by 2025``) in ``lang``."""
    return text if lang == "en" else text.replace(" vs ", " 较").replace(" by ", "，目标年 ")
