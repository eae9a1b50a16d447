"""Identifiers that only their context makes identifying, and Chinese account handles.

A run of digits is just a number until the words before it say what it is: "ID card
number 670157196604156218", "member no. A-2231-77", "QQ：14705257", "微信：zhangwei_1990".
These rules report the identifier after such words (never the words), and Chinese licence
plates, whose shape is distinctive on its own. Order, invoice, ticket and tracking numbers
are deliberately not among the cues: they name a transaction, not a person.
"""

from __future__ import annotations

import re

from privlog.detect.base import Rule, RuleRecognizer, fixed

__all__ = ["id_recognizers"]

_CUE_EN = (
    r"(?:national\s+)?id(?:entity|entification)?(?:\s+card)?|passport|"
    r"driver'?s?\s+licen[cs]e|licen[cs]e|social\s+security|ssn|membership|member|customer|"
    r"client|account|acct|policy|patient|employee|staff|student|tax(?:payer)?|tin|vat|"
    r"insurance|medical\s+record|mrn|nhs|medicare|medicaid|pension|voter|citizen|resident|"
    r"benefit|claim"
)
_CUE_ZH = (
    r"身份证|证件|学号|工号|会员|账号|帐号|户号|社保|医保|护照|驾驶证|驾照|病历|客户|通行证|"
    r"台胞证|回乡证|居住证|军官证"
)
_ID = re.compile(
    rf"(?:\b(?i:{_CUE_EN})(?:\s+(?i:card|number|no\.?|num\.?|#|code|id))*|{_CUE_ZH}(?:号码|号|码)?)"
    r"\s*(?:(?i:is|was|of|being)\s+|[:：#=(（]\s*|为|是)?"
    r"(?P<id>(?=[A-Za-z0-9\-]*[0-9](?:[A-Za-z\-]*[0-9]){3})[A-Za-z0-9][A-Za-z0-9\-]{3,30}[A-Za-z0-9])"
    r"(?![A-Za-z0-9\-])"
)
_QQ = re.compile(r"(?i:qq|扣扣)(?:号码|号)?\s*(?:[:：]|是|为)?\s*(?P<id>[1-9][0-9]{4,11})(?![0-9])")
_WECHAT = re.compile(
    r"(?:(?i:wechat|weixin|vx|wx)|微信)(?:公众)?(?:号|帐号|账号|(?i:\s*id))?\s*[:：]?\s*"
    r"(?P<id>[A-Za-z][A-Za-z0-9_\-]{5,19})(?![A-Za-z0-9_\-])"
    r"|(?<![A-Za-z0-9_])(?P<wxid>wxid_[a-z0-9]{8,20})(?![A-Za-z0-9_])"
)
# "@handle" names an account, and so its owner. Not e-mail (no word character or dot
# before the @), not a decorator or annotation ("@app.route", "@Override", "@media").
_NOT_HANDLES = (
    "override|deprecated|suppresswarnings|functionalinterface|safevarargs|test|before|after|"
    "beforeeach|aftereach|autowired|component|service|repository|controller|restcontroller|"
    "entity|table|column|id|bean|configuration|inject|transactional|getmapping|postmapping|"
    "requestmapping|pathvariable|requestbody|value|data|builder|getter|setter|slf4j|"
    "staticmethod|classmethod|property|dataclass|abstractmethod|cached_property|pytest|"
    "media|import|keyframes|font-face|supports|charset|page|layer|container|apply|tailwind|"
    "param|params|return|returns|throws|type|since|see|author|version|link|example|todo|"
    "input|output|host|hostbinding|hostlistener|viewchild|ngmodule|injectable|types|babel|"
    "angular|vue|nestjs|aws-sdk|mui|emotion|testing-library|everyone|here|channel|all"
)
_HANDLE = re.compile(
    rf"(?<![\w@.\-/])@(?!(?i:{_NOT_HANDLES})(?![\w]))(?P<h>[A-Za-z0-9_]{{2,30}})"
    r"(?![\w@.(/\-])"
)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# UK National Insurance numbers: two letters, six digits, a letter A-D.
_UK_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"[ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[A-D](?![A-Za-z0-9])"
)
_PLATE = re.compile(
    rf"[{_PROVINCES}][A-HJ-NP-Z][·•・\- ]?"
    r"(?=[A-HJ-NP-Z0-9]{0,5}[0-9])(?:[DF][A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{5})(?![A-Za-z0-9])"
)


def id_recognizers() -> list[RuleRecognizer]:
    return [
        RuleRecognizer(
            "privlog.context_id",
            [
                Rule("id.after_cue", "ID_NUMBER", _ID, fixed(0.8), group=1),
                Rule("id.uk_nino", "ID_NUMBER", _UK_NINO, fixed(0.7)),
            ],
        ),
        RuleRecognizer(
            "privlog.cn_accounts",
            [
                Rule("cn_qq", "CN_QQ", _QQ, fixed(0.85), group=1),
                Rule("cn_wechat", "CN_WECHAT", _WECHAT, fixed(0.85), group=None),
                Rule("cn_plate", "CN_LICENSE_PLATE", _PLATE, fixed(0.85)),
            ],
        ),
        RuleRecognizer(
            "privlog.social_handle",
            [Rule("social_handle", "SOCIAL_HANDLE", _HANDLE, fixed(0.6))],
        ),
    ]
