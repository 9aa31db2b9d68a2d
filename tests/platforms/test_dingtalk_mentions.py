"""DingTalk's @-mentions become the neutral form the grammar reads; a department's name written with @ stays."""

from __future__ import annotations

from bot.platforms.dingtalk import mentions_to_neutral

ROBOT = "$:LWCP_v1:$robot"


def test_a_department_written_with_at_is_kept_when_only_the_robot_is_in_at_users():
    # Before, the one @ in the text was taken for the robot's own and dropped: "ask … 请核对" asked nobody.
    body = {"chatbotUserId": ROBOT, "atUsers": [{"dingtalkId": ROBOT}]}
    assert mentions_to_neutral("工单 协助 T-000001 @finance 请核对", body) == "工单 协助 T-000001 @finance 请核对"


def test_the_robots_own_leading_at_is_dropped_and_people_become_staff_ids():
    body = {"chatbotUserId": ROBOT, "atUsers": [{"dingtalkId": ROBOT}, {"dingtalkId": "$:x", "staffId": "zhao"}]}
    assert mentions_to_neutral("@ticketbot 工单 协助 T-000001 @赵会计 请核对", body) == "工单 协助 T-000001 @zhao 请核对"
    alone = {"chatbotUserId": ROBOT, "atUsers": [{"dingtalkId": ROBOT}]}
    assert mentions_to_neutral("@ticketbot 工单 列表", alone) == "工单 列表"
