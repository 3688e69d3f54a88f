"""A small bilingual (English/Korean) corpus of contract clauses, precedents and queries.

Written for the legal tutorial, not taken from real contracts: ten clause families, each
with several differently worded templates in each language, in a standard and a risky
(one-sided, unlimited, automatic) variant. Templates are instantiated with parties,
periods and amounts, so the same family appears in many wordings. Search queries are
phrased the way a lawyer would search, not copied from the clauses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PARTIES = {
    "en": [
        ("the Supplier", "the Customer"),
        ("the Licensor", "the Licensee"),
        ("the Company", "the Contractor"),
    ],
    "ko": [("공급자", "고객"), ("라이선서", "라이선시"), ("회사", "수급인")],
}
FILL = {
    "days": ["15", "30", "60", "90"],
    "months": ["6", "12", "24"],
    "years": ["1", "2", "3"],
    "amount": ["10,000,000", "50,000,000", "100,000,000"],
    "city": ["Seoul", "Busan", "Singapore", "New York"],
    "city_ko": ["서울", "부산", "인천", "대전"],
}

# family -> language -> variant -> templates. {a} and {b} are the parties.
TEMPLATES: dict[str, dict[str, dict[str, list[str]]]] = {
    "termination": {
        "en": {
            "standard": [
                "Either party may terminate this Agreement for convenience by giving {days} days' prior written notice to the other party.",
                "This Agreement may be ended by {a} or {b} without cause upon {days} days' written notice.",
                "Each party shall have the right to terminate the Agreement at any time, provided that it notifies the other party in writing at least {days} days in advance.",
            ],
            "risky": [
                "{a} may terminate this Agreement at any time, for any reason or no reason, with immediate effect and without notice to {b}.",
                "{a} reserves the right to cancel this Agreement immediately at its sole discretion, and {b} shall have no right to terminate before the end of the term.",
            ],
        },
        "ko": {
            "standard": [
                "어느 당사자든 {days}일 전에 상대방에게 서면으로 통지함으로써 본 계약을 해지할 수 있다.",
                "{a}와 {b}는 각각 {days}일의 사전 서면 통지로 본 계약을 종료할 수 있다.",
            ],
            "risky": [
                "{a}는 언제든지 사유 여하를 불문하고 통지 없이 즉시 본 계약을 해지할 수 있다.",
                "{a}는 단독 재량으로 본 계약을 즉시 해지할 수 있으며, {b}는 계약기간 만료 전에는 계약을 해지할 수 없다.",
            ],
        },
    },
    "liability": {
        "en": {
            "standard": [
                "Each party's total liability under this Agreement shall not exceed the fees paid by {b} in the {months} months preceding the claim.",
                "In no event shall either party be liable for indirect, incidental or consequential damages, and aggregate liability is capped at KRW {amount}.",
                "The maximum aggregate liability of {a} arising out of this Agreement is limited to the amounts actually paid in the preceding {months} months.",
            ],
            "risky": [
                "{b} shall be liable without limitation for all losses of {a}, including indirect, consequential and punitive damages and lost profits.",
                "No cap or limitation applies to the liability of {b}, which shall compensate {a} in full for any damage whatsoever, direct or indirect.",
            ],
        },
        "ko": {
            "standard": [
                "각 당사자의 손해배상 책임은 청구 직전 {months}개월 동안 지급된 대금을 한도로 한다.",
                "어느 당사자도 간접손해, 특별손해 또는 결과적 손해에 대하여 책임을 지지 아니하며, 총 배상책임은 {amount}원을 초과하지 아니한다.",
            ],
            "risky": [
                "{b}는 {a}에게 발생한 모든 손해에 대하여 간접손해, 특별손해 및 일실이익을 포함하여 한도 없이 배상한다.",
                "{b}의 손해배상 책임에는 어떠한 상한도 적용되지 아니하며, {b}는 직접 또는 간접 손해 전부를 배상하여야 한다.",
            ],
        },
    },
    "indemnification": {
        "en": {
            "standard": [
                "Each party shall indemnify and hold harmless the other party from third-party claims arising out of its own breach of this Agreement.",
                "{a} and {b} shall each defend the other against claims caused by their own negligence or wilful misconduct.",
                "A party shall compensate the other for losses resulting from third-party claims to the extent caused by the indemnifying party's breach.",
            ],
            "risky": [
                "{b} shall indemnify, defend and hold {a} harmless from any and all claims whatsoever, even if caused by the negligence of {a}.",
                "{b} agrees to reimburse {a} for every claim, loss and expense of any kind, regardless of fault, and {a} gives no indemnity in return.",
            ],
        },
        "ko": {
            "standard": [
                "각 당사자는 자신의 계약 위반으로 인하여 제3자가 제기한 청구로부터 상대방을 면책하고 그 손해를 보상한다.",
                "{a}와 {b}는 각자의 과실 또는 고의로 인한 제3자 청구에 대하여 상대방을 방어하고 면책한다.",
            ],
            "risky": [
                "{b}는 {a}의 과실로 인한 경우를 포함하여 어떠한 청구로부터도 {a}를 면책하고 모든 손해를 보상한다.",
                "{b}는 귀책사유를 불문하고 {a}의 모든 청구, 손실 및 비용을 보상하며, {a}는 {b}에게 어떠한 면책 의무도 부담하지 아니한다.",
            ],
        },
    },
    "confidentiality": {
        "en": {
            "standard": [
                "The receiving party shall keep the disclosing party's confidential information secret and use it only to perform this Agreement, for {years} years after disclosure.",
                "Neither party shall disclose the other party's confidential information to any third party, except information that is or becomes publicly available.",
                "Confidential information received from {a} may be disclosed only to employees who need to know it and are bound by equivalent obligations of secrecy.",
            ],
            "risky": [
                "{b} shall keep secret in perpetuity all information received from {a}, including information that is already public, and {a} has no confidentiality obligation.",
                "All information of any kind disclosed by {a}, whether or not marked confidential or publicly known, must be kept secret by {b} forever.",
            ],
        },
        "ko": {
            "standard": [
                "수령 당사자는 상대방의 비밀정보를 제3자에게 공개하지 아니하며, 공개일로부터 {years}년간 본 계약의 이행 목적으로만 사용한다.",
                "어느 당사자도 상대방의 비밀정보를 제3자에게 누설하여서는 아니 된다. 다만, 공지의 정보는 그러하지 아니하다.",
            ],
            "risky": [
                "{b}는 이미 공개된 정보를 포함하여 {a}로부터 받은 모든 정보를 기간의 제한 없이 비밀로 유지하여야 하며, {a}는 비밀유지 의무를 부담하지 아니한다.",
                "{a}가 제공한 모든 정보는 비밀 표시 여부나 공지 여부와 관계없이 {b}가 영구히 비밀로 유지하여야 한다.",
            ],
        },
    },
    "governing_law": {
        "en": {
            "standard": [
                "This Agreement shall be governed by the laws of the Republic of Korea, and the courts of {city} shall have jurisdiction over any dispute.",
                "Any dispute arising out of this Agreement shall be finally settled by arbitration in {city} under the rules of the Korean Commercial Arbitration Board.",
                "The governing law of this Agreement is Korean law; the parties submit to the exclusive jurisdiction of the courts located in {city}.",
            ],
            "risky": [
                "{a} may choose, at its sole option, the governing law and the forum of any dispute, and {b} waives any objection to venue and its right to a jury trial.",
                "All disputes shall be resolved exclusively in a forum selected by {a} at the time of the dispute, under the law {a} designates.",
            ],
        },
        "ko": {
            "standard": [
                "본 계약은 대한민국 법률에 따라 해석되며, 본 계약과 관련한 분쟁은 {city_ko}지방법원을 관할 법원으로 한다.",
                "본 계약으로부터 발생하는 분쟁은 대한상사중재원의 중재규칙에 따라 {city_ko}에서 중재로 최종 해결한다.",
            ],
            "risky": [
                "분쟁의 준거법과 관할은 {a}가 분쟁 발생 시점에 단독으로 선택하며, {b}는 관할에 대한 이의를 포기한다.",
                "모든 분쟁은 {a}가 지정하는 법률에 따라 {a}가 선택한 법원에서만 해결한다.",
            ],
        },
    },
    "payment": {
        "en": {
            "standard": [
                "{b} shall pay each undisputed invoice within {days} days of receipt by bank transfer.",
                "Fees are payable within {days} days after the invoice date; late amounts bear interest at the statutory rate.",
                "Payment of the invoiced amount is due {days} days after {b} receives a correct invoice from {a}.",
            ],
            "risky": [
                "{b} shall pay all invoices within 3 days, and any late payment bears interest of 5% per month plus a fixed penalty of KRW {amount}.",
                "{a} may change the fees at any time without notice, and {b} must pay the new fees, including for services already delivered, immediately on demand.",
            ],
        },
        "ko": {
            "standard": [
                "{b}는 세금계산서를 수령한 날로부터 {days}일 이내에 대금을 계좌이체로 지급한다.",
                "대금은 청구일로부터 {days}일 이내에 지급하며, 지연된 금액에는 법정 이율에 따른 지연이자가 부과된다.",
            ],
            "risky": [
                "{b}는 모든 청구서를 3일 이내에 지급하여야 하며, 지급이 지연되는 경우 월 5%의 지연이자와 {amount}원의 위약금을 부담한다.",
                "{a}는 통지 없이 언제든지 요금을 변경할 수 있으며, {b}는 이미 제공된 용역을 포함하여 변경된 요금을 청구 즉시 지급하여야 한다.",
            ],
        },
    },
    "non_compete": {
        "en": {
            "standard": [
                "For {months} months after termination, {b} shall not provide competing services to customers it served under this Agreement in {city}.",
                "During the term and for {months} months thereafter, the Contractor shall not solicit the Company's clients in {city} for a competing business.",
                "{b} agrees not to engage in a directly competing business within {city} for a period of {months} months following the end of this Agreement.",
            ],
            "risky": [
                "For ten years after termination, {b} shall not engage anywhere in the world in any business that competes in any way with {a}, without compensation.",
                "{b} may not work for, advise or invest in any company in any industry, worldwide, for fifteen years after this Agreement ends.",
            ],
        },
        "ko": {
            "standard": [
                "{b}는 계약 종료 후 {months}개월간 {city_ko} 지역에서 본 계약에 따라 거래한 고객에게 경쟁 용역을 제공하지 아니한다.",
                "{b}는 계약기간 및 종료 후 {months}개월 동안 {city_ko}에서 동종 사업을 영위하지 아니한다.",
            ],
            "risky": [
                "{b}는 계약 종료 후 10년간 전 세계 어디에서도 {a}와 경쟁하는 어떠한 사업도 대가 없이 영위할 수 없다.",
                "{b}는 계약 종료 후 15년간 업종과 지역을 불문하고 어떠한 회사에도 취업, 자문 또는 투자할 수 없다.",
            ],
        },
    },
    "auto_renewal": {
        "en": {
            "standard": [
                "This Agreement renews for successive one-year terms unless either party gives notice of non-renewal at least {days} days before expiry.",
                "At the end of the initial term the Agreement is extended by {months} months, unless {a} or {b} objects in writing {days} days before the term ends.",
                "The term shall automatically renew for one year at a time; either party may prevent renewal by written notice {days} days prior to the renewal date.",
            ],
            "risky": [
                "This Agreement renews automatically for successive five-year terms, and {b} may only cancel by registered letter received exactly 180 days before expiry.",
                "The subscription renews indefinitely at {a}'s then-current prices, and {b} waives any right to cancel the renewal.",
            ],
        },
        "ko": {
            "standard": [
                "본 계약은 기간 만료 {days}일 전까지 어느 당사자도 갱신 거절을 통지하지 아니하면 1년씩 자동으로 연장된다.",
                "최초 계약기간 종료 시 본 계약은 {months}개월 연장되며, 다만 당사자가 만료 {days}일 전에 서면으로 이의를 제기한 경우에는 그러하지 아니하다.",
            ],
            "risky": [
                "본 계약은 5년 단위로 자동 갱신되며, {b}는 만료일로부터 정확히 180일 전에 도달한 등기우편으로만 해지할 수 있다.",
                "구독은 {a}가 정한 당시 요금으로 무기한 자동 갱신되며, {b}는 갱신을 취소할 권리를 포기한다.",
            ],
        },
    },
    "assignment": {
        "en": {
            "standard": [
                "Neither party may assign or transfer its rights under this Agreement without the prior written consent of the other party.",
                "{a} may not transfer this Agreement to a third party unless {b} has approved the transfer in writing, such approval not to be unreasonably withheld.",
                "Any assignment of this Agreement requires the written consent of both {a} and {b}, except to a successor in a merger.",
            ],
            "risky": [
                "{a} may assign or transfer this Agreement, in whole or in part, to any third party at any time without notice to or consent of {b}.",
                "{a} may freely sell its rights under this Agreement to anyone, while {b} may never assign or delegate any of its obligations.",
            ],
        },
        "ko": {
            "standard": [
                "어느 당사자도 상대방의 사전 서면 동의 없이 본 계약상의 권리 또는 의무를 제3자에게 양도할 수 없다.",
                "{a}는 {b}의 서면 승낙 없이 본 계약상 지위를 제3자에게 이전할 수 없으며, {b}는 정당한 이유 없이 승낙을 거절하지 아니한다.",
            ],
            "risky": [
                "{a}는 {b}에 대한 통지나 동의 없이 언제든지 본 계약의 전부 또는 일부를 제3자에게 양도할 수 있다.",
                "{a}는 본 계약상 권리를 누구에게나 자유롭게 양도할 수 있으나, {b}는 어떠한 의무도 양도하거나 위임할 수 없다.",
            ],
        },
    },
    "force_majeure": {
        "en": {
            "standard": [
                "Neither party is liable for delay or failure to perform caused by events beyond its reasonable control, such as natural disasters, war or epidemics.",
                "Performance is suspended for as long as a force majeure event such as an earthquake, flood or pandemic prevents it, provided the affected party gives prompt notice.",
                "A party affected by an unforeseeable event outside its control, including fire, strikes or government action, shall be excused while the event continues.",
            ],
            "risky": [
                "{a} is excused from performance for any reason it considers beyond its control, including price increases and staff shortages, while {b} remains bound to pay.",
                "Force majeure relieves only {a}; {b} must perform and pay on time even during natural disasters, war or epidemics.",
            ],
        },
        "ko": {
            "standard": [
                "어느 당사자도 천재지변, 전쟁, 감염병 등 합리적인 통제를 벗어난 사유로 인한 이행 지체나 불이행에 대하여 책임을 지지 아니한다.",
                "지진, 홍수, 감염병 대유행 등 불가항력 사유가 지속되는 동안 이행은 정지되며, 해당 당사자는 지체 없이 상대방에게 통지하여야 한다.",
            ],
            "risky": [
                "{a}는 가격 상승과 인력 부족을 포함하여 스스로 통제할 수 없다고 판단하는 모든 사유로 이행 의무를 면하며, {b}는 대금 지급 의무를 계속 부담한다.",
                "불가항력은 {a}에게만 적용되며, {b}는 천재지변, 전쟁 또는 감염병 중에도 기한 내에 이행하고 대금을 지급하여야 한다.",
            ],
        },
    },
}

# Searches a lawyer might type: family -> language -> queries.
QUERIES: dict[str, dict[str, list[str]]] = {
    "termination": {
        "en": [
            "right to end the contract early without cause and the notice period",
            "how can a party cancel the agreement before it expires",
        ],
        "ko": [
            "계약을 중도에 해지할 수 있는 권리와 통지 기간",
            "계약기간 만료 전에 계약을 끝낼 수 있는지",
        ],
    },
    "liability": {
        "en": [
            "cap on damages and exclusion of consequential loss",
            "maximum amount a party has to pay if something goes wrong",
        ],
        "ko": ["손해배상 한도와 간접손해 배제", "문제가 생겼을 때 배상해야 하는 최대 금액"],
    },
    "indemnification": {
        "en": [
            "who covers third-party claims and legal costs",
            "obligation to hold the other side harmless from lawsuits",
        ],
        "ko": [
            "제3자 청구에 대한 면책과 보상 의무",
            "소송이 제기되면 누가 방어하고 비용을 부담하는지",
        ],
    },
    "confidentiality": {
        "en": [
            "duty to keep secret information private and not share it",
            "non-disclosure of trade secrets received from the other party",
        ],
        "ko": ["비밀정보를 공개하지 않을 의무", "상대방에게 받은 영업비밀을 누설하지 않는 조항"],
    },
    "governing_law": {
        "en": [
            "which country's law applies and which court hears disputes",
            "arbitration or court venue for resolving disagreements",
        ],
        "ko": ["준거법과 분쟁 해결 법원", "분쟁을 중재로 해결하는지 법원으로 해결하는지"],
    },
    "payment": {
        "en": [
            "invoice due date and interest on late payments",
            "when the customer must pay the fees",
        ],
        "ko": ["대금 지급 기한과 지연이자", "고객이 언제까지 요금을 내야 하는지"],
    },
    "non_compete": {
        "en": [
            "restriction on working for competitors after the contract ends",
            "ban on starting a rival business for some months",
        ],
        "ko": [
            "계약 종료 후 경쟁업체 취업이나 경쟁 사업 금지",
            "일정 기간 동종 영업을 하지 않을 의무",
        ],
    },
    "auto_renewal": {
        "en": [
            "contract extends itself unless someone opts out before expiry",
            "automatic rollover of the term and how to stop it",
        ],
        "ko": [
            "만료 전에 거절하지 않으면 계약이 자동으로 연장되는지",
            "자동 갱신을 막는 방법과 통지 기한",
        ],
    },
    "assignment": {
        "en": [
            "can the contract be transferred to another company",
            "consent needed before handing over rights to a third party",
        ],
        "ko": [
            "계약상 지위를 다른 회사에 넘길 수 있는지",
            "권리를 제3자에게 이전할 때 동의가 필요한지",
        ],
    },
    "force_majeure": {
        "en": [
            "excuse from performance during disasters, war or pandemic",
            "what happens if an earthquake or epidemic prevents delivery",
        ],
        "ko": [
            "천재지변이나 전쟁 시 이행 면제",
            "감염병이나 지진으로 이행하지 못하면 어떻게 되는지",
        ],
    },
}

# Short case summaries for precedent search: issue -> language -> (summary, query).
PRECEDENTS: dict[str, dict[str, list[str]]] = {
    "termination": {
        "en": [
            "A distributor was dropped overnight without notice after eight years; the court awarded damages for the missing reasonable notice period.",
            "A software vendor ended a licence mid-term for convenience; the clause required 90 days' notice, which the vendor had not given.",
        ],
        "ko": [
            "8년간 거래한 대리점과의 계약을 예고 없이 즉시 해지하여, 법원은 합리적인 통지 기간에 상응하는 손해배상을 인정하였다.",
            "소프트웨어 공급자가 계약기간 중 임의로 라이선스를 해지하였으나 약정된 90일 전 통지를 하지 않았다.",
        ],
    },
    "liability": {
        "en": [
            "After a data centre outage the customer claimed lost profits; the court enforced the cap of twelve months' fees.",
            "A clause imposing unlimited liability on a small subcontractor was held unfair in a standard-form contract.",
        ],
        "ko": [
            "데이터센터 장애로 고객이 일실이익을 청구하였으나 법원은 12개월분 요금으로 정한 책임 제한 조항을 유효하다고 보았다.",
            "약관에서 영세 하도급업체에 무한 책임을 지운 조항이 불공정하여 무효로 판단되었다.",
        ],
    },
    "confidentiality": {
        "en": [
            "A former partner used the client list received during a joint venture; the court found a breach of the non-disclosure agreement.",
            "Information already published in a patent application could not be protected as confidential.",
        ],
        "ko": [
            "합작 사업 중 받은 고객 명단을 전 파트너가 사용하여 법원은 비밀유지계약 위반을 인정하였다.",
            "이미 특허출원으로 공개된 정보는 비밀정보로 보호받을 수 없다고 판단되었다.",
        ],
    },
    "non_compete": {
        "en": [
            "A worldwide ten-year non-compete for a junior engineer was struck down as unreasonable in scope and duration.",
            "A one-year restriction limited to the same city and the same clients was upheld.",
        ],
        "ko": [
            "신입 엔지니어에게 전 세계 10년간 경업을 금지한 약정은 범위와 기간이 과도하여 무효로 판단되었다.",
            "같은 도시와 같은 고객으로 한정한 1년간의 경업금지 약정은 유효하다고 인정되었다.",
        ],
    },
    "force_majeure": {
        "en": [
            "A supplier invoked the pandemic to stop deliveries; the court required proof that the epidemic actually prevented performance.",
            "A rise in raw material prices was held not to be force majeure.",
        ],
        "ko": [
            "공급자가 감염병 대유행을 이유로 납품을 중단하였으나 법원은 감염병으로 이행이 실제 불가능했음을 입증하도록 요구하였다.",
            "원자재 가격 상승은 불가항력 사유에 해당하지 않는다고 판단되었다.",
        ],
    },
}
PRECEDENT_QUERIES: dict[str, dict[str, str]] = {
    "termination": {
        "en": "our partner cancelled the contract immediately without any warning",
        "ko": "거래처가 아무런 통지 없이 계약을 바로 끊었다",
    },
    "liability": {
        "en": "customer wants compensation for lost profits after a service failure",
        "ko": "서비스 장애 후 고객이 일실이익 배상을 요구한다",
    },
    "confidentiality": {
        "en": "ex-partner is using our secret customer data",
        "ko": "전 파트너가 우리 고객 정보를 몰래 쓰고 있다",
    },
    "non_compete": {
        "en": "employee is banned from working for any competitor for many years",
        "ko": "직원이 오랫동안 경쟁사에 취업하지 못하도록 되어 있다",
    },
    "force_majeure": {
        "en": "supplier stopped shipping and blamed the epidemic",
        "ko": "공급업체가 감염병을 핑계로 납품을 중단했다",
    },
}


@dataclass(frozen=True)
class Clause:
    text: str
    family: str
    language: str
    risky: bool
    template: str  # family/language/variant/index: the unit held out together


def build_corpus(seed: int = 0, per_template: int = 3) -> list[Clause]:
    """Every template instantiated per_template times with different parties and values."""
    rng = random.Random(seed)
    clauses = []
    for family, languages in TEMPLATES.items():
        for language, variants in languages.items():
            for variant, templates in variants.items():
                for index, template in enumerate(templates):
                    for _ in range(per_template):
                        a, b = rng.choice(PARTIES[language])
                        values = {key: rng.choice(options) for key, options in FILL.items()}
                        text = template.format(a=a, b=b, **values)
                        if language == "en":
                            text = text[0].upper() + text[1:]
                        clauses.append(
                            Clause(
                                text,
                                family,
                                language,
                                variant == "risky",
                                f"{family}/{language}/{variant}/{index}",
                            )
                        )
    return clauses


def queries(language: str) -> list[tuple[str, str]]:
    """(query, family) pairs for one language."""
    return [(q, family) for family, by_lang in QUERIES.items() for q in by_lang[language]]
