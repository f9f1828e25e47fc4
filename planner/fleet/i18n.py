"""The report's wording in simplified Chinese and English: one table of labels, and the sentences built from figures.

Both languages render the same figures (``report.json``); only words differ. Every label is one row of
``LABELS`` with both languages, so a label cannot be missing in one of them. ``default_language`` picks
Chinese for a plan whose city is written in Chinese characters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("zh", "en")


class Label(NamedTuple):
    """One label in both languages (``str.format`` fields alike in both)."""

    zh: str
    en: str


#: key -> (zh, en). Keys with a dot are families: ``status.<status>``, ``title.<indicator>``,
#: ``class.<vehicle_class>``, ``carrier.<carrier>``, ``basis.<grid basis>``, ``case.<reason case>``, ``term.<LMDI term>``.
LABELS: dict[str, Label] = {
    # page
    "title": Label("新能源车辆目标评估", "New-energy fleet targets"),
    "html_lang": Label("zh-CN", "en"),
    "records_to": Label("数据截至 {date}（流量指标：{start} 至 {end} 的 12 个月）",
                        "Data to {date} (flows: the 12 months {start} to {end})"),
    "against": Label("对照", "Against the transport targets of"),
    "issued": Label("印发于", "issued"),
    "generated": Label("由 evplan 生成于 {at}（北京时间）。", "Generated {at} (Asia/Shanghai) by evplan."),
    "synthetic": Label("合成数据。", "Synthetic data."),
    "about_data": Label("关于数据。", "About the data."),
    "shipped_note": Label(
        "随 evplan 提供的车辆记录（{dir}）为合成数据：汕尾市没有公开的机动车登记数据摘录，因此由仓库中一个带固定随机种子的"
        "生成程序生成，并按已公布的数字校准（《汕尾日报》2021 年 11 月 8 日：公交车 1,324 辆，其中纯电动 1,295 辆；"
        "新能源出租车 115 辆，占 49%）。",
        "The fleet records shipped with evplan ({dir}) are synthetic: no registry extract of Shanwei is public, so a "
        "seeded generator kept in the repository produces them, calibrated to published figures (汕尾日报, 8 Nov 2021: "
        "1,324 buses of which 1,295 battery-electric; 115 new-energy taxis, 49 %)."),
    "synthetic_note": Label("本报告即由这些记录生成：其数字用于演示跟踪方法，并非{city}的实际情况。请用主管部门自己的记录运行以获得真实数字。",
                            "This report was built from them: its figures show how the tracking works and are not "
                            "facts about {city}. Run it on the bureau's own records for real figures."),
    "unknown_note": Label("如果本报告由这些记录生成，其数字仅用于演示方法，并非{city}的实际情况。",
                          "If this report was built from them, its figures illustrate the method and are not facts "
                          "about {city}."),
    "footer_sep": Label(" · ", " · "),
    "stop": Label("。", ". "),
    "comma": Label("，", ", "),
    "open": Label("（", " ("),
    "close": Label("）", ")"),
    # summary
    "at_a_glance": Label("目标一览", "Targets at a glance"),
    "col_target": Label("目标与条款", "Target and clause"),
    "col_goal": Label("目标值", "Target"),
    "col_latest": Label("最新值（截止日）", "Latest (cut-off)"),
    "col_projection": Label("目标年预测<br>（{level}% 预测区间）", "Projected for target year<br>({level} % prediction interval)"),
    "col_status": Label("状态", "Status"),
    "col_lever": Label("抓手", "Lever"),
    "scope_county": Label("全市及各县（市、区）", "city and every county"),
    "scope_city": Label("全市", "city"),
    "clause": Label("第{n}条", "clause {n}"),
    "goal": Label("{year} 年{sign} {value}", "{sign} {value} by {year}"),
    "goal_vs": Label("{year} 年较 {base} 年{sign} {value}", "{sign} {value} vs {base} by {year}"),
    "goal_c22": Label("2025 年 100 %", "100 % · 2025"),
    "turnover": Label("自然更新即可达成", "met by natural turnover"),
    "scenario": Label("新增车辆情景", "Additions scenario"),
    "scenario_default": Label("沿用最近 12 个月新增车辆的新能源占比", "the NE share of additions of the last 12 months continues"),
    "rules": Label("状态规则", "Status rules"),
    "hindcast": Label("预测区间是否可靠？", "How good are the intervals?"),
    "hindcast_text": Label(
        "在本数据上回测：以截至 {fit} 年底的记录拟合并预测 {to} 年，{cases} 个（指标 × 县）情形中有 {inside} 个的 {to} 年"
        "实际值落在 {level}% 预测区间内（实测覆盖率 {share}）。",
        "Hindcast on these records: fitted to {fit} and projected to {to}, the observed {to} value fell inside the "
        "{level} % interval in {inside} of {cases} (indicator × county) cases (measured coverage {share})."),
    "no_hindcast": Label("记录年份不足，未做回测（需要 {fit} 年之前至 {to} 年的记录）。",
                         "No hindcast: the records do not span {fit} to {to} with earlier years to fit on."),
    # status words and rules
    "status.met": Label("已达成", "met"),
    "status.on track": Label("进展正常", "on track"),
    "status.at risk": Label("存在风险", "at risk"),
    "status.off track": Label("偏离目标", "off track"),
    "status.no data": Label("无数据", "no data"),
    "status.not assessed": Label("未评估", "not assessed"),
    "rule.met": Label("目标年已有观测值且达到目标（目标年尚未观测时从不判为已达成）",
                      "the target year has been observed and its value meets the target (a year not yet observed "
                      "is never met)"),
    "rule.on track": Label("预测值及其预测区间的不利端均达到目标；或所有待替换车辆在目标年底前达到强制报废年限、且新增车辆情景以新能源车"
                           "替代（自然更新即可达成）",
                           "the projection and the pessimistic end of its prediction interval meet the target; or "
                           "every vehicle still to switch reaches its mandatory scrapping age by the target year and "
                           "the additions scenario replaces them with NE vehicles (met by natural turnover)"),
    "rule.at risk": Label("预测值达到目标但不利端未达到，或预测值未达到但目标落在区间内",
                          "the projection meets the target but the pessimistic end does not, or the projection "
                          "misses but the target lies inside the interval"),
    "rule.off track": Label("整个区间均未达到目标，或目标年已过而未达成",
                            "the whole interval misses the target, or the target year has passed unmet"),
    "rule.no data": Label("无计数、无基准年或无法预测", "nothing counted, no baseline year, or no projection"),
    # status reasons (assessment.Trajectory.reason_case)
    "case.observed_meets": Label("目标年 {year} 已观测：{value}，达到目标（{goal}）",
                                 "target year {year} observed: {value} meets the target {goal}"),
    "case.observed_misses": Label("目标年 {year} 已观测：{value}，未达到目标（{goal}）",
                                  "target year {year} observed: {value} misses the target {goal}"),
    "case.interval_meets": Label("预测 {mid}（区间 {low} 至 {high}），目标 {goal}：整个区间均达到目标",
                                 "projected {mid} ({low} to {high}), target {goal}: whole interval meets it"),
    "case.pessimistic_misses": Label("预测 {mid}（区间 {low} 至 {high}），目标 {goal}：预测值达到目标，但区间不利端未达到",
                                     "projected {mid} ({low} to {high}), target {goal}: projection meets it, the "
                                     "pessimistic end does not"),
    "case.target_inside": Label("预测 {mid}（区间 {low} 至 {high}），目标 {goal}：预测值未达到目标，但目标落在区间内",
                                "projected {mid} ({low} to {high}), target {goal}: projection misses it, the target "
                                "is inside the interval"),
    "case.interval_misses": Label("预测 {mid}（区间 {low} 至 {high}），目标 {goal}：整个区间均未达到目标",
                                  "projected {mid} ({low} to {high}), target {goal}: the whole interval misses it"),
    "case.no_counts": Label("截至 {date} 的记录中没有此类车辆", "nothing of this kind in the records to {date}"),
    "case.no_projection": Label("无法预测：此类车辆既无在用也无新增", "no projection: nothing of this kind is left in "
                                                                   "service or added"),
    "case.no_baseline": Label("基准年 {base} 无数据", "no value for the baseline year {base}"),
    "case.no_activity": Label("没有可用于预测的营运活动数据", "no activity to project"),
    "turnover_reason": Label("自然更新即可达成：", "met by natural turnover: "),
    "need_share": Label("从现在到 {year} 年所需新增车辆新能源占比 {need}", "NE share of additions needed from now to "
                                                                     "{year}: {need}"),
    "now_share": Label("（最近 12 个月：{now}）", " (last 12 months: {now})"),
    "last_retires": Label("在用的 {n} 辆非新能源{cls}中，最后一辆于 {date} 达到 {cap} 年强制报废年限",
                          "the last of the {n} non-NE {cls} vehicles in service reaches its {cap}-year scrapping age "
                          "on {date}"),
    "none_in_service": Label("已无在用的非新能源{cls}", "no non-NE {cls} vehicle is left in service"),
    "early_needed": Label("即使新增全部为新能源车仍不足：需提前淘汰 {n} 辆非新能源车",
                          "even all-NE additions fall short: {n} non-NE vehicles must retire early"),
    "county_worst": Label("全市{city}；{worst}：{names}", "city {city}; {worst}: {names}"),
    "city_only": Label("全市{city}", "city {city}"),
    "no_data_in": Label("无数据：{names}", "no data: {names}"),
    "list_sep": Label("、", ", "),
    "part_sep": Label("；", "; "),
    "dash": Label("——", " — "),
    # levers
    "lever_switch_now": Label("需立即替换 {n} 辆", "{n} vehicles to switch now"),
    "lever_share": Label("新增车辆新能源占比 ≥ {share}", "NE share of additions ≥ {share}"),
    "lever_retire": Label("最后一辆非新能源车于 {date} 达到报废年限", "last non-NE retires {date}"),
    "lever_early": Label("需提前淘汰 {n} 辆", "{n} early retirements needed"),
    "lever_extra": Label("每年需多增 {n} 辆新能源车", "+{n} NE additions/yr"),
    "lever_co2": Label("{year} 年需减排 {t} 吨二氧化碳", "cut {t} t CO2 in {year}"),
    "lever_none": Label("无需额外措施", "none"),
    # charts
    "charts": Label("预测与目标对照", "Projections against the targets"),
    "plan": Label("方案原文", "Plan"),
    "assessment": Label("评估", "Assessment"),
    "gap": Label("抓手", "Lever"),
    "read_as": Label("理解为", "Read as"),
    "observed": Label("实际值", "observed"),
    "projection": Label("预测", "projection"),
    "band": Label("{level}% 预测区间", "{level} % band"),
    "target_legend": Label("目标 {goal}", "target {goal}"),
    "projected_at": Label("{year} 年预测：{value}", "projected {year}: {value}"),
    "chart_no_data": Label("无数据", "no data"),
    "scenario_only": Label("情景本身（未按回测校正）的预测：{value}", "the scenario itself (not corrected by the hindcast): "
                                                                 "{value}"),
    # counties
    "by_county": Label("分县（市、区）情况，{date}", "By county, {date}"),
    "county": Label("县（市、区）", "County"),
    "buses": Label("公交车", "Buses"),
    "ne_buses": Label("新能源公交车", "NE buses"),
    "ne_bus_share": Label("新能源公交车占比", "NE bus share"),
    "bus_target": Label("公交目标", "Bus target"),
    "taxis": Label("出租车", "Taxis"),
    "ne_taxis": Label("新能源出租车", "NE taxis"),
    "ne_taxi_share": Label("新能源出租车占比", "NE taxi share"),
    "taxi_target": Label("出租车目标", "Taxi target"),
    "matrix": Label("{label}（分县、分年，12月31日保有量）", "{label} by county and year (stock on 31 Dec)"),
    # operators
    "operators": Label("仍有非新能源车辆的经营者（据记录中的经营者或场站）",
                       "Who still runs non-NE vehicles (from the records' operator or depot)"),
    "operators_note": Label("截至 {date} 仍在用的非新能源车辆，按经营者和县（市、区）统计；每行注明最后一辆达到报废年限的日期。",
                            "Non-NE vehicles in service on {date} by operator and county, with the day the last of "
                            "them reaches its scrapping age."),
    "operator": Label("经营者", "Operator"),
    "vehicles": Label("车辆数", "Vehicles"),
    "class": Label("车型", "Class"),
    "last_scrap": Label("最后一辆达到报废年限", "Last reaches scrapping age"),
    "none_left": Label("已无非新能源车辆。", "No non-NE vehicle left."),
    "operator_not_recorded": Label("（记录未注明经营者）", "(operator not recorded)"),
    # clause 22
    "clause22": Label("第22条：2025年前实现高速公路服务区快充站全覆盖",
                      "Clause 22: fast charging at every expressway service area by 2025"),
    "sides_with_station": Label("有快充站的服务区（单侧，规划）", "Service-area sides with fast charging (plan)"),
    "sides_total": Label("在用服务区（单侧）", "Active sides"),
    "sides_today": Label("目前已满足第22条的服务区（单侧）", "Sides meeting clause 22 today"),
    "closed": Label("已关闭的服务区（不计入）", "Closed service areas (not counted)"),
    "ratio": Label("各县（市、区）车桩比（新能源汽车 / 公共充电桩）", "EVs per public charger (车桩比) by county"),
    "evs": Label("新能源汽车保有量", "EVs in service"),
    "chargers": Label("公共充电桩", "Public chargers"),
    "ratio_col": Label("车桩比", "EVs per charger"),
    "not_given": Label("规划未给出", "not given by the plan"),
    "no_plan": Label("未评估：未提供规划结果（{cmd}）", "not assessed: no plan given ({cmd})"),
    "c22_no_stage": Label("规划摘要未给出 {year} 年及以后有快充站的服务区数", "the plan summary has no "
                          "service-area sides with a station for {year} or later"),
    "c22_planned": Label("{stage} 年规划阶段为 {n} 个服务区（单侧）配建快充站",
                         "the {stage} plan stage gives {n} service-area side(s) a fast-charging station"),
    "c22_of_total": Label("，在用服务区共 {total} 个（单侧）", ", of {total} active side(s)"),
    "c22_all_today": Label("{total} 个在用服务区（单侧）目前均已有快充", "all {total} active sides have fast charging today"),
    "c22_today": Label("{total} 个在用服务区（单侧）中目前已有 {n} 个有快充", "{n} of {total} active sides have fast "
                                                                       "charging today"),
    "c22_no_total": Label("规划在每个在用服务区都布站（强制规则），但摘要未给出服务区总数以作比较",
                          "the plan puts a station at every active side (its mandatory rule), but the summary does "
                          "not give the number of sides to compare"),
    "c22_passed": Label("目标年 {year} 年已过（数据截至 {date}），按现有充电设施评估", "the target year {year} has passed "
                        "(data to {date}): judged on the chargers standing today"),
    "c22_late": Label("规划没有 {year} 年阶段（首个阶段为 {stage} 年）", "the plan has no {year} stage (first stage "
                                                                   "{stage})"),
    "c22_quote": Label("到 2025 年前实现高速公路服务区快充站全覆盖", "到 2025 年前实现高速公路服务区快充站全覆盖"),
    # decomposition
    "decomposition": Label("营运车辆二氧化碳排放较{base}年的变化来源（LMDI 分解）",
                           "Operating CO2 since {base}: where the change came from (LMDI)"),
    "decomp_note": Label("按车型的加法 LMDI-I 分解，各项之和严格等于总变化；电网排放因子按年份取自 {file}。",
                         "Additive LMDI-I by class; the terms add up exactly to the change. Grid factor by year from "
                         "{file}."),
    "term.activity": Label("运输活动", "Activity"),
    "term.structure": Label("结构", "Structure"),
    "term.intensity": Label("能耗强度", "Energy intensity"),
    "term.mix": Label("能源结构", "Fuel mix"),
    "term.grid_factor": Label("电网排放因子", "Grid factor"),
    "total": Label("总变化", "Total change"),
    "city_total": Label("全市", "City"),
    "t_co2": Label("吨二氧化碳", "t CO2"),
    # data quality
    "quality": Label("数据质量", "Data quality"),
    "rows_read": Label("读取行数（车辆、营运活动、场站）", "Rows read (vehicles, activity, depots)"),
    "vehicles_accepted": Label("接受的车辆记录", "Vehicles accepted"),
    "activity_accepted": Label("接受的营运活动记录", "Activity rows accepted"),
    "depots_accepted": Label("接受的场站记录", "Depots accepted"),
    "rows_quarantined": Label("隔离的行（另存，注明文件、行号、字段和原因）",
                              "Rows quarantined (kept aside with file, row, field and reason)"),
    "years_covered": Label("覆盖年份", "Years covered"),
    "by_class": Label("按车型统计的接受车辆：", "Accepted vehicles by class: "),
    "none_quarantined": Label("没有被隔离的行。", "No row was quarantined."),
    "quarantine_reasons": Label("按字段和原因统计的隔离问题", "Quarantine issues by field and reason"),
    "field": Label("字段", "Field"),
    "reason_verbatim": Label("原因（检查程序原文）", "Reason"),
    "issues": Label("问题数", "Issues"),
    "by_file": Label("按文件：", "By file: "),
    "sample": Label("{total} 个隔离问题中的前 {n} 个", "First {n} of {total} quarantine issues"),
    "file": Label("文件", "File"),
    "row": Label("行号", "Row"),
    "value": Label("值", "Value"),
    # method
    "method": Label("方法与来源", "Method and sources"),
    "m_cutoff": Label("截止日", "Cut-off"),
    "m_cutoff_text": Label("保有量取数据截止日的在用车辆；流量（新增车辆）取截至最后一个完整月份的 12 个月。新能源 = 纯电动（BEV）、"
                           "插电式混合动力（PHEV）、燃料电池（FCEV）；清洁能源 = 压缩天然气（CNG）、液化天然气（LNG）。",
                           "stocks on the data cut-off date; flows (additions) over the 12 months to the last complete "
                           "month. New energy (NE) = BEV, PHEV, FCEV; clean energy = CNG, LNG."),
    "m_projection": Label("预测", "Projection"),
    "m_projection_text": Label("存量更新模型：按车型和动力类型的新增车辆（最近 12 个月的数量和动力构成，新能源占比按情景）→ 残存率（按车型"
                               "由记录拟合的韦布尔分布，并以强制报废年限封顶）→ 保有量 → 占比；营运二氧化碳按最近一年的营运活动和"
                               "单车能耗计算，电力按各年电网排放因子折算。",
                               "stock turnover: additions by class and powertrain (volume and powertrain mix of the "
                               "last 12 months, NE share per the scenario) -> survival (Weibull per class fitted to "
                               "the records, capped at the mandatory scrapping age) -> stock -> shares; operating CO2 "
                               "at the latest activity and energy per vehicle, priced with the grid factor of each "
                               "year."),
    "m_intervals": Label("区间", "Intervals"),
    "m_intervals_text": Label("目标年数值的 {level}% 预测区间：在对数几率（占比）或对数（强度）尺度上，情景预测值加上以往各截止日预测误差"
                              "（按预测年限折算）的第 10 至第 90 百分位数；表中的预测值为区间中心，即情景预测值加上误差中位数"
                              "（以往的情景预测偏低或偏高多少，就校正多少）。",
                              "{level} % prediction interval for the target-year value: the scenario's projection on "
                              "the logit (shares) or log (intensity) scale plus the 10th-90th percentiles of past "
                              "projection errors per year of horizon, from projections made at every earlier cut-off; "
                              "the value shown is its centre, the projection plus the median past error (as far as "
                              "the scenario has come out low or high before)."),
    "m_levers": Label("抓手", "Levers"),
    "m_levers_text": Label("保有量占比目标：从现在到目标年所需的新增车辆新能源占比，以及最后一辆非新能源车达到报废年限的日期；新增占比目标："
                           "每年需多增的新能源车辆数；强度目标：需减排的二氧化碳量，以及较基准年变化的 LMDI 分解。",
                           "for a stock share, the NE share of additions needed from now to the target year and the "
                           "day the last non-NE vehicle reaches its scrapping age; for a flow share, the extra NE "
                           "additions per year; for the intensity, the CO2 to cut and the LMDI decomposition of the "
                           "change since the baseline."),
    "sources": Label("数据来源", "Data sources"),
    "s_targets": Label("目标", "Targets"),
    "s_targets_text": Label("{title}（{document}，{issued_on} 印发），逐条引自 {file}。",
                            "{title} ({document}, issued {issued_on}), clause by clause as quoted in {file}."),
    "s_records": Label("车辆记录", "Fleet records"),
    "s_records_text": Label("车辆（注册、注销、车型、动力类型、县）、营运车辆逐年营运活动和场站，经 evplan 读取和检查。",
                            "vehicles (registration, deregistration, class, powertrain, county), activity of "
                            "operating vehicles per year and depots, as read and checked by evplan."),
    "s_shipped": Label("随附记录", "Shipped records"),
    "emission_factors": Label("排放因子（二氧化碳 = 能源消耗量 × 因子）", "Emission factors (CO2 = energy used × factor)"),
    "carrier": Label("能源", "Carrier"),
    "kg_per_unit": Label("千克二氧化碳 / 单位", "kg CO2 per unit"),
    "unit": Label("单位", "Unit"),
    "source": Label("来源（数据文件原文）", "Source"),
    "grid_factors": Label("各年电网排放因子（千克二氧化碳 / 千瓦时）", "Grid factor by year (kg CO2/kWh)"),
    "year": Label("年份", "Year"),
    "kg_per_kwh": Label("千克二氧化碳 / 千瓦时", "kg CO2/kWh"),
    "basis": Label("依据", "Basis"),
    "basis.published": Label("公布值", "published"),
    "basis.derived": Label("推算值", "derived"),
    "basis.held": Label("沿用", "held"),
    "held_from": Label("该年未公布因子，沿用 {year} 年数值", "no factor published for this year; the {year} value is used"),
    "not_assessed": Label("方案中未能用车辆记录评估的交通目标", "Transport targets of the plan not assessed from fleet records"),
    "clause_col": Label("条款", "Clause"),
    "target_col": Label("目标", "Target"),
    "why": Label("原因", "Why not here"),
    # titles of the indicators
    "title.ne_bus_share": Label("新能源公交车占比", "New-energy share of buses"),
    "title.ne_taxi_share": Label("新能源出租车占比", "New-energy share of taxis"),
    "title.ne_or_clean_new_vehicle_share": Label("当年新增新能源、清洁能源交通工具占比",
                                                 "New-energy or clean share of new vehicles"),
    "title.ev_new_passenger_car_share": Label("电动乘用车占新车销售比例", "Electric share of new passenger cars"),
    "title.operating_co2_per_converted_turnover": Label("营运交通工具单位换算周转量碳排放强度变化",
                                                        "CO2 per converted turnover of operating vehicles, change"),
    # vehicle classes (schema.VEHICLE_CLASSES) and energy carriers (emission_factors.csv)
    "class.bus": Label("公交车", "bus"),
    "class.taxi": Label("出租车", "taxi"),
    "class.ride_hailing": Label("网约车", "ride-hailing car"),
    "class.coach": Label("客车", "coach"),
    "class.truck": Label("货车", "truck"),
    "class.van": Label("轻型货车", "van"),
    "class.passenger_car": Label("私人乘用车", "passenger car"),
    "class.special": Label("专用车", "special vehicle"),
    "carrier.electricity": Label("电力", "electricity"),
    "carrier.petrol": Label("汽油", "petrol"),
    "carrier.diesel": Label("柴油", "diesel"),
    "carrier.cng": Label("压缩天然气（CNG）", "CNG"),
    "carrier.lng": Label("液化天然气（LNG）", "LNG"),
    "carrier.h2": Label("氢", "hydrogen"),
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
    """The text of ``key`` in ``lang`` with ``values`` filled in (a missing key is a ``KeyError``)."""
    text = getattr(LABELS[key], lang)
    return text.format(**values) if values else text


def label_or(lang: Lang, family: str, key: str) -> str:
    """``family.key`` in ``lang`` when the table has it, else ``key`` itself (an id from the data)."""
    entry = LABELS.get(f"{family}.{key}")
    return key if entry is None else getattr(entry, lang)


def status(lang: Lang, value: str) -> str:
    return label_or(lang, "status", value)


def goal(lang: Lang, assessed: Mapping[str, Any], percent: Callable[..., str]) -> str:
    """The target as a short phrase: ``≥ 100 % by 2025`` / ``2025 年≥ 100 %``."""
    sign = {">=": "≥", "<=": "≤", "≈": "≈"}[assessed["comparison"]]
    signed = assessed.get("kind") == "intensity ratio"
    value = percent(assessed["target_value"], signed=signed).replace(".0 %", " %")
    if assessed.get("baseline_year"):
        return t(lang, "goal_vs", sign=sign, value=value, base=assessed["baseline_year"], year=assessed["target_year"])
    return t(lang, "goal", sign=sign, value=value, year=assessed["target_year"])


def lever(lang: Lang, assessed: Mapping[str, Any], percent: Callable[..., str]) -> str:
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
        return t(lang, "part_sep").join(parts) or "–"
    per_year = gap.get("vehicles_per_year")
    if per_year is None:
        return "–"
    if per_year <= 0:
        return t(lang, "lever_none")
    return t(lang, "lever_extra", n=f"{per_year:,.0f}")


def reason(lang: Lang, assessed: Mapping[str, Any], percent: Callable[..., str], *,
           names: Mapping[str, str] | None = None, own: bool = False) -> str:
    """Why an assessed target (or one area of it, ``own=True``) has its status, from its figures, in ``lang``.

    For a county-scope target the sentence starts with the city's status and the counties that are worse,
    named by ``names`` (code -> name in ``lang``), else by the county's own name in ``lang``.
    """
    signed = assessed.get("kind") == "intensity ratio"

    def fmt(v: float | None) -> str:
        return percent(v, signed=signed)

    case = assessed.get("reason_case") or ""
    p = assessed.get("projection") or {}
    g = goal(lang, assessed, percent)
    cut = (assessed.get("data_cutoff") or {}).get("date", "")
    if case.startswith("observed"):
        text = t(lang, f"case.{case}", year=assessed["target_year"], value=fmt(p.get("value")), goal=g)
    elif case in ("interval_meets", "pessimistic_misses", "target_inside", "interval_misses"):
        text = t(lang, f"case.{case}", mid=fmt(p.get("value")), low=fmt(p.get("low")), high=fmt(p.get("high")), goal=g)
    elif case in ("no_counts", "no_projection", "no_baseline", "no_activity"):
        text = t(lang, f"case.{case}", date=cut, base=assessed.get("baseline_year"))
    else:
        text = t(lang, "status." + assessed.get("status", "no data"))
    gap = assessed.get("gap") or {}
    if gap.get("by_turnover"):
        text = t(lang, "turnover_reason") + turnover_detail(lang, assessed, percent) + t(lang, "part_sep") + text
    counties = assessed.get("counties")
    if own or not counties:
        return text
    city_status = assessed.get("city_status", assessed.get("status"))
    worse = [c for c in counties if c["status"] == assessed["status"] and c["status"] != city_status
             and c["status"] != "no data"]
    sep = t(lang, "list_sep")
    label = (names or {})

    def name(c: Mapping[str, Any]) -> str:
        own = c.get("county_name_en") if lang == "en" else None
        return label.get(c["county_code"]) or own or c["county_name"]

    head = (t(lang, "county_worst", city=status(lang, city_status), worst=status(lang, assessed["status"]),
              names=sep.join(name(c) for c in worse))
            if worse else t(lang, "city_only", city=status(lang, city_status)))
    missing = [c for c in counties if c["status"] == "no data"]
    if missing:
        head += t(lang, "part_sep") + t(lang, "no_data_in", names=sep.join(name(c) for c in missing))
    return head + t(lang, "dash") + text


def turnover_detail(lang: Lang, assessed: Mapping[str, Any], percent: Callable[..., str]) -> str:
    """The stock-share lever in words: NE share of additions needed, and when the last non-NE vehicle retires."""
    gap = assessed.get("gap") or {}
    parts = []
    if gap.get("ne_share_of_additions_needed") is not None:
        text = t(lang, "need_share", year=assessed["target_year"], need=percent(gap["ne_share_of_additions_needed"]))
        if gap.get("ne_share_of_additions_last_12_months") is not None:
            text += t(lang, "now_share", now=percent(gap["ne_share_of_additions_last_12_months"]))
        parts.append(text)
    cls = label_or(lang, "class", str(gap.get("vehicle_class", "")))
    if gap.get("last_non_ne_retires_on"):
        parts.append(t(lang, "last_retires", n=f"{gap.get('vehicles_total') or 0:,}", cls=cls,
                       date=gap["last_non_ne_retires_on"], cap=f"{gap.get('scrapping_age_years') or 0:g}"))
    elif gap.get("vehicles_total") == 0:
        parts.append(t(lang, "none_in_service", cls=cls))
    if gap.get("early_retirements_needed"):
        parts.append(t(lang, "early_needed", n=f"{gap['early_retirements_needed']:,}"))
    return t(lang, "part_sep").join(parts)


def clause_22_reason(lang: Lang, c: Mapping[str, Any], *, year: int = 2025) -> str:
    """Clause 22's status in words from the plan summary's figures (``charging.ChargingAssessment.to_dict``)."""
    if c.get("status") == "not assessed" and c.get("stage_year") is None and not c.get("source"):
        return t(lang, "no_plan", cmd="evplan fleet report --plan-summary summary.json")
    stage, n, total, today = (c.get(k) for k in ("stage_year", "sides_with_station", "sides_total",
                                                  "sides_meeting_today"))
    if n is None or stage is None:
        return t(lang, "c22_no_stage", year=year)
    sep = t(lang, "part_sep")
    planned = t(lang, "c22_planned", stage=stage, n=n)
    if today is not None and total:
        text = t(lang, "c22_all_today", total=total) if today >= total else (
            t(lang, "c22_today", n=today, total=total) + sep + planned)
    elif total is not None:
        text = planned + t(lang, "c22_of_total", total=total)
    else:
        text = planned + sep + t(lang, "c22_no_total")
    if stage > year:
        text += sep + t(lang, "c22_late", year=year, stage=stage)
    if c.get("target_year_passed_on") and c.get("status") != "met":
        text = t(lang, "c22_passed", year=year, date=c["target_year_passed_on"]) + sep + text
    return text
