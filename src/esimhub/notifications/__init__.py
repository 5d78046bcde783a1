"""Webhooks: notification subscriptions, signed delivery of outbox events, the simulator."""
