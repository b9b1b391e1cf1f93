"""Supportdesk CRM backend: customers, conversations, cases, agents, knowledge and models."""
