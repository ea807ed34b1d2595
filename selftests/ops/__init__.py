"""Self-tests of smokegate.ops: history, alerts, the health report, the ops plugin and the workflows."""
