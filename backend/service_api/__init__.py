"""The service API: every route the action server calls, typed by contract/service_api.py."""
