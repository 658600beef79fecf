"""The suite's cases, composed: every codec-mode case (:func:`all_cases` from the
vectors, then :func:`more_codec_cases`) and every node-mode case
(:func:`all_node_cases`). A new case module is registered here: one import line and one
``+ x()`` in the function of its kind."""

from __future__ import annotations

from juki_conformance.cases_codec import all_cases
from juki_conformance.cases_codec_bounds import bounds_cases
from juki_conformance.cases_codec_canonical import canonical_cases, more_canonical_cases
from juki_conformance.cases_codec_explore import codec_explore_cases
from juki_conformance.cases_codec_family_register import family_register_codec_cases
from juki_conformance.cases_codec_header_edges import header_edge_cases
from juki_conformance.cases_codec_json_order import json_order_cases
from juki_conformance.cases_codec_list_elements import list_element_cases
from juki_conformance.cases_codec_paths import path_cases
from juki_conformance.cases_codec_tags import tag_cases
from juki_conformance.cases_envelope_backlog import envelope_backlog_cases
from juki_conformance.cases_envelope_ber import envelope_ber_cases
from juki_conformance.cases_envelope_paths import envelope_path_cases
from juki_conformance.cases_envelope_profile import envelope_profile_cases
from juki_conformance.cases_envelope_signing_time import signing_time_cases
from juki_conformance.cases_envelope_window import envelope_window_cases
from juki_conformance.cases_node import node_cases
from juki_conformance.cases_node_admission import admission_cases
from juki_conformance.cases_node_agency import agency_cases
from juki_conformance.cases_node_allotment_hook import allotment_hook_cases
from juki_conformance.cases_node_audit_anchor import audit_anchor_cases
from juki_conformance.cases_node_audit_paths import audit_path_cases
from juki_conformance.cases_node_backlog import node_backlog_cases
from juki_conformance.cases_node_beside import beside_cases
from juki_conformance.cases_node_card_centre_paths import card_centre_paths_cases
from juki_conformance.cases_node_card_paths import card_paths_cases
from juki_conformance.cases_node_card_pin import card_pin_cases
from juki_conformance.cases_node_card_register import card_register_cases
from juki_conformance.cases_node_card_restart import card_restart_cases
from juki_conformance.cases_node_certificate_move_out import certificate_move_out_cases
from juki_conformance.cases_node_counter_check import counter_check_cases
from juki_conformance.cases_node_crl import crl_cases
from juki_conformance.cases_node_delegation import delegation_cases
from juki_conformance.cases_node_designation import designation_cases
from juki_conformance.cases_node_disclosure import disclosure_cases
from juki_conformance.cases_node_durability import durability_cases
from juki_conformance.cases_node_explore import DEFAULT_EXPLORE, explore_cases, parse_steps
from juki_conformance.cases_node_family_register import family_register_cases
from juki_conformance.cases_node_final_refusal import final_refusal_cases
from juki_conformance.cases_node_flow_closure import closure_cases
from juki_conformance.cases_node_flow_paths import flow_path_cases
from juki_conformance.cases_node_flows import flow_cases
from juki_conformance.cases_node_header_numbers import header_number_cases
from juki_conformance.cases_node_identity_paths import identity_path_cases
from juki_conformance.cases_node_late_repeats import late_repeat_cases
from juki_conformance.cases_node_move_in_fields import move_in_field_cases
from juki_conformance.cases_node_municipality import municipality_cases
from juki_conformance.cases_node_national import national_cases
from juki_conformance.cases_node_op_fields import op_field_cases
from juki_conformance.cases_node_operators import operator_cases
from juki_conformance.cases_node_peers import peer_cases
from juki_conformance.cases_node_provision_paths import provision_path_cases
from juki_conformance.cases_node_provision_volume import volume_cases
from juki_conformance.cases_node_register import register_cases
from juki_conformance.cases_node_retention import retention_cases
from juki_conformance.cases_node_second_notice import second_notice_cases
from juki_conformance.cases_node_stray_answers import stray_answer_cases
from juki_conformance.cases_node_suspension import suspension_cases
from juki_conformance.cases_node_upper_fields import upper_field_cases
from juki_conformance.cases_node_upper_inputs import upper_input_cases
from juki_conformance.cases_node_wide_area_consistency import wide_area_consistency_cases
from juki_conformance.cases_node_window import window_cases
from juki_conformance.model import Case


def all_node_cases(explore: int = DEFAULT_EXPLORE, seed: int = 1,
                   replay: str | None = None) -> list[Case]:
    """Every node-mode case: prefecture, municipality, national, agency, then the
    municipality flows, the register, restart, clock and audit cases of every role,
    then the model-based ones (``explore`` sequences from ``seed``, or ``replay``)."""
    return (node_cases() + municipality_cases() + national_cases() + agency_cases()
            + flow_cases() + family_register_cases() + designation_cases()
            + card_register_cases() + register_cases() + durability_cases()
            + operator_cases() + peer_cases()
            + retention_cases() + backlog_node_cases() + issue_13_node_cases()
            + explore_cases(explore, seed, replay))


def issue_13_node_cases() -> list[Case]:
    """Issue 13's node cases: delegation (Art. 30-10(1)), stopping provision."""
    return delegation_cases() + suspension_cases()


def backlog_node_cases() -> list[Case]:
    """The node-mode cases of the modules written from the mutation backlog (issue 12)."""
    return (volume_cases() + wide_area_consistency_cases() + closure_cases()
            + card_pin_cases() + header_number_cases() + move_in_field_cases()
            + node_backlog_cases() + audit_anchor_cases() + stray_answer_cases()
            + provision_path_cases() + flow_path_cases() + audit_path_cases()
            + disclosure_cases() + op_field_cases() + card_paths_cases()
            + card_centre_paths_cases() + beside_cases() + certificate_move_out_cases()
            + allotment_hook_cases() + counter_check_cases() + upper_input_cases()
            + card_restart_cases() + identity_path_cases() + crl_cases()
            + final_refusal_cases() + late_repeat_cases() + second_notice_cases()
            + admission_cases() + upper_field_cases() + window_cases())


def more_codec_cases() -> list[Case]:
    """The codec-mode cases of the modules written from the mutation backlog
    (issue 12): whole families of inputs per rule, after :func:`all_cases`."""
    return (envelope_profile_cases() + tag_cases() + header_edge_cases()
            + family_register_codec_cases() + envelope_backlog_cases() + canonical_cases()
            + bounds_cases() + envelope_path_cases() + signing_time_cases() + path_cases()
            + list_element_cases() + json_order_cases() + more_canonical_cases()
            + envelope_window_cases() + envelope_ber_cases())


__all__ = ["DEFAULT_EXPLORE", "all_cases", "all_node_cases", "backlog_node_cases",
           "codec_explore_cases", "issue_13_node_cases", "more_codec_cases", "parse_steps"]
