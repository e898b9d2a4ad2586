"""The served OpenAPI schema describes push bodies with the bounds the validator enforces."""

EVENTS_PATH = "/v1/{brand_id}/ai-referrals/connections/{connection_id}/events"
INT64 = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1}


def served_schema(client) -> dict:
    response = client.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_push_bodies_are_an_array_of_events_or_ndjson_events(client):
    schema = served_schema(client)
    content = schema["paths"][EVENTS_PATH]["post"]["requestBody"]["content"]
    ref = {"$ref": "#/components/schemas/EventSchemaRequest"}
    assert content == {
        "application/json": {"schema": {"type": "array", "items": ref}},
        "application/x-ndjson": {"schema": ref},
    }


def test_the_event_component_states_every_field_rule(client):
    event = served_schema(client)["components"]["schemas"]["EventSchemaRequest"]
    assert event["required"] == ["date", "raw_page_value", "raw_referrer_value"]
    assert event["properties"] == {
        "date": {
            "type": "string",
            "format": "date",
            "description": "YYYY-MM-DD; not later than today (UTC) + 1 day.",
        },
        "raw_referrer_value": {"type": "string", "minLength": 1, "maxLength": 512},
        "raw_page_value": {"type": "string", "minLength": 1, "maxLength": 2048},
        "pageviews": {**INT64, "nullable": True},
        "sessions": {**INT64, "nullable": True},
        "transactions": {**INT64, "nullable": True},
        "purchase_revenue": {
            "type": "number",
            "format": "double",
            "minimum": 0,
            "maximum": 10**12,
            "nullable": True,
        },
        "batch_id": {"type": "string", "maxLength": 128, "nullable": True},  # "" is valid
    }
