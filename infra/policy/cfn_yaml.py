"""Load a CloudFormation / SAM YAML template into plain Python data.

PyYAML's SafeLoader rejects CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, ...). This loader maps each of
them to the long form CloudFormation itself uses ({"Ref": ...}, {"Fn::GetAtt": [...]}, {"Fn::Sub": ...}, ...), so
the rules see one shape whichever form the template author wrote. YAML anchors and aliases work as usual.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's intrinsic-function tags."""


def _node_value(loader: CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict:
    value = _node_value(loader, node)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_text(text: str) -> dict:
    data = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError("a template must be a YAML mapping")
    return data


def load(path: str | Path) -> dict:
    return load_text(Path(path).read_text(encoding="utf-8"))
