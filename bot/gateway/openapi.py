"""The OpenAPI 3.1 description of the gateway, served at ``GET /api/v1/openapi.json``.

Written by hand next to the routes; ``tests/test_gateway_openapi.py`` checks it against the routes the
app really registers (both ways), so neither can drift from the other.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.store.models import ConsentScope

table = web.RouteTableDef()

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    texts = {
        400: "bad input",
        401: "missing or unknown token",
        403: "token may not do this",
        404: "not found (for this household)",
        408: "body or audio arrived too slowly",
        409: "state does not allow it",
        413: "too large or too long",
        410: "expired, or a link already used",
        415: "unsupported media type or audio format",
        422: "nothing understood",
        429: (
            "rate limit exceeded (`rate_limited`), too many failed authentications from this "
            "address (`auth_throttled`), or this device's share is taken (`too_many_uploads`, "
            "`too_many_connections`, `too_many_pending`); see Retry-After"
        ),
        503: (
            "a component is down (the message is a short apology), or the process is full "
            "(`stt_busy`, `uploads_busy`, `voice_busy`; see Retry-After)"
        ),
    }
    return {str(s): _json(_ref("Error"), texts[s]) for s in statuses}


_AUTH: list[dict[str, list[str]]] = [{"bearer": []}]
_TURN_ERRORS = (400, 401, 403, 408, 413, 415, 429, 503)
_ME_ERRORS = (401, 403, 429, 503)
_OFFER_ID = {"name": "offer_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _op(summary: str, responses: dict[str, Schema], **extra: Any) -> Schema:
    return {"summary": summary, "responses": responses, **extra}


def _body(schema: Schema, media: str = JSON) -> Schema:
    return {"required": True, "content": {media: {"schema": schema}}}


def _paths() -> dict[str, Any]:
    app_op = {"security": _AUTH, "parameters": [_OFFER_ID]}
    return {
        "/api/v1/converse": {
            "post": _op(
                "A text turn",
                {"200": _json(_ref("TurnOutcome")), **_errors(*_TURN_ERRORS)},
                security=_AUTH,
                requestBody=_body(_ref("TextTurn")),
            )
        },
        "/api/v1/converse/audio": {
            "post": _op(
                "A spoken turn: WAV in (any common rate/channels), transcript and replies out",
                {"200": _json(_ref("TurnOutcome")), **_errors(*_TURN_ERRORS, 422)},
                security=_AUTH,
                parameters=[
                    {"name": "turn_id", "in": "query", "schema": {"type": "string", "maxLength": 80}},
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "schema": {"type": "string", "maxLength": 80},
                    },
                ],
                requestBody=_body({"type": "string", "format": "binary"}, "audio/wav"),
            )
        },
        "/api/v1/voice": {
            "get": _op(
                "Voice websocket: start message and PCM16 frames in; pipeline events and WAV out",
                {
                    "101": {"description": "switching to the websocket protocol"},
                    **_errors(400, 401, 403, 429, 503),
                },
                description=(
                    'Client → {"type":"start","sample_rate":16000,"format":"pcm16","turn_id"?,"token"?}, '
                    'binary PCM16 mono frames, {"type":"end"}. Server → PipelineEvent JSON messages '
                    "(stt-partial, stt-final, intent, dialogue, card, tts-start, tts-end, error, run-end) "
                    "and binary WAV chunks between tts-start and tts-end. The run-end event's data "
                    'carries "handled" (and "reason" when false) like a converse outcome. Without an '
                    'Authorization header the first message must be {"type":"auth","token"} (or a start '
                    "with its token) within ws_auth_timeout_s, else the socket closes (1008). Limits: "
                    "docs/security.md, 'The edge'."
                ),
            )
        },
        "/api/v1/nlu/parse": {
            "post": _op(
                "NLU parse of one utterance (designer token)",
                {"200": _json({"type": "object"}), **_errors(400, 401, 403, 503)},
                security=_AUTH,
                requestBody=_body(_ref("TextTurn")),
            )
        },
        "/api/v1/me/consents": {
            "get": _op(
                "Consent state and history",
                {"200": _json(_ref("Consents")), **_errors(*_ME_ERRORS)},
                security=_AUTH,
            ),
            "post": _op(
                "Grant or withdraw consent scopes",
                {"200": _json(_ref("Consents")), **_errors(400, 408, 415, *_ME_ERRORS)},
                security=_AUTH,
                requestBody=_body(_ref("ConsentChange")),
            ),
        },
        "/api/v1/me/offers": {
            "get": _op(
                "Audit of the offers shown to this household",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"offers": {"type": "array", "items": _ref("Offer")}},
                        }
                    ),
                    **_errors(*_ME_ERRORS),
                },
                security=_AUTH,
            )
        },
        "/api/v1/me/offers/{offer_id}": {
            "get": _op(
                "Why this offer", {"200": _json(_ref("Offer")), **_errors(400, 404, *_ME_ERRORS)}, **app_op
            )
        },
        "/api/v1/me/home": {
            "get": _op(
                "The panel's home screen: energy, applications, points, subscriptions, consents, suggestions",
                {"200": _json({"type": "object"}), **_errors(*_ME_ERRORS)},
                security=_AUTH,
            )
        },
        "/api/v1/me/complaints": {
            "get": _op(
                "The household's complaint and service tickets",
                {"200": _json({"type": "object"}), **_errors(*_ME_ERRORS)},
                security=_AUTH,
            )
        },
        "/api/v1/me/data": {
            "delete": _op(
                "Withdraw all consent and erase what was said and measured (Rasa trackers included)",
                {"200": _json({"type": "object"}), **_errors(*_ME_ERRORS)},
                security=_AUTH,
            )
        },
        "/api/v1/me/export": {
            "get": _op(
                "Everything stored about this household, one JSON download (docs/security.md)",
                {"200": _json({"type": "object"}), **_errors(*_ME_ERRORS)},
                security=_AUTH,
            )
        },
        "/api/v1/me/applications/{offer_id}": {
            "get": _op(
                "Application status card",
                {"200": _json(_ref("Card")), **_errors(400, 404, *_ME_ERRORS)},
                **app_op,
            )
        },
        "/api/v1/me/applications/{offer_id}/confirm": {
            "post": _op(
                "Complete a pending application out of band (panel)",
                {"200": _json(_ref("Card")), **_errors(400, 404, 409, *_ME_ERRORS)},
                **app_op,
            )
        },
        "/api/v1/me/applications/{offer_id}/cancel": {
            "post": _op(
                "Cancel an application within its window",
                {"200": _json(_ref("Card")), **_errors(400, 404, 409, *_ME_ERRORS)},
                **app_op,
            )
        },
        "/api/v1/me/applications/{offer_id}/qr": {
            "get": _op(
                "QR code (SVG) of the phone hand-off",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"payload": {"type": "string"}, "svg": {"type": "string"}},
                        }
                    ),
                    **_errors(400, 404, *_ME_ERRORS),
                },
                **app_op,
            )
        },
        "/api/v1/openapi.json": {"get": _op("This description", {"200": _json({"type": "object"})})},
        "/healthz": {
            "get": _op(
                "Health: {status} for everyone, every component with an admin token (cached ~1 s)",
                {
                    "200": _json(_ref("Health")),
                    "503": _json(_ref("Health"), "a required component is down"),
                    **_errors(401, 429),
                },
            )
        },
        "/panel": {"get": _op("The central control panel page", {"200": {"description": "HTML"}})},
        "/panel/{name}": {
            "get": _op(
                "Panel assets (ES modules, CSS)",
                {"200": {"description": "asset"}, **_errors(404)},
                parameters=[{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            )
        },
        "/shared/{name}": {
            "get": _op(
                "Modules the panel and the studio share (API calls, DOM helpers, microphone)",
                {"200": {"description": "asset"}, **_errors(404)},
                parameters=[{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            )
        },
    }


def _schemas() -> dict[str, Schema]:
    event_types = [
        "stt-partial",
        "stt-final",
        "intent",
        "dialogue",
        "card",
        "tts-start",
        "tts-end",
        "error",
        "run-end",
    ]
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                },
                "events": {
                    "type": "array",
                    "items": _ref("PipelineEvent"),
                    "description": "turn endpoints only: one `error` event (a short apology for 5xx)",
                },
            },
        },
        "TextTurn": {
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": {"type": "string", "maxLength": 500},
                "turn_id": {"type": "string", "maxLength": 80},
                "debug": {"type": "boolean", "description": "add the intent event (one more Rasa call)"},
            },
        },
        "Card": {
            "type": "object",
            "required": ["type", "title"],
            "properties": {"type": {"type": "string"}, "title": {"type": "string"}},
            "additionalProperties": True,
        },
        "PipelineEvent": {
            "type": "object",
            "required": ["type", "at_ms", "data"],
            "properties": {
                "type": {"enum": event_types},
                "at_ms": {"type": "number"},
                "data": {"type": "object"},
            },
        },
        "TurnOutcome": {
            "type": "object",
            "required": ["turn_id", "replies", "events"],
            "properties": {
                "turn_id": {"type": "string"},
                "transcript": {"type": "string"},
                "replies": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "text": {"type": "string"},
                            "card": {"oneOf": [_ref("Card"), {"type": "null"}]},
                        },
                    },
                },
                "events": {"type": "array", "items": _ref("PipelineEvent")},
                "handled": {
                    "type": "boolean",
                    "description": (
                        "Whether the skill handled the turn. false: the utterance is for the host "
                        "assistant (a device command, chatter, a yes with nothing pending); the "
                        "replies are a short decline or empty, as the tenant's boundary.decline "
                        "says. Outcomes stored before this field existed lack it: handled."
                    ),
                },
                "reason": {
                    "type": "string",
                    "description": (
                        "Only when handled is false: device_control (a command for a device, "
                        "media, a timer or a scene), out_of_scope (a question or errand about the "
                        "world: weather, date and time, facts), chitchat (everyday chatter with the "
                        "assistant: jokes, feelings, questions about the assistant), not_awaited "
                        "(a bare yes/no/value while nothing was asked) or not_understood (below the "
                        "NLU's confidence threshold, nothing pending); more may be added."
                    ),
                    "examples": [
                        "device_control",
                        "out_of_scope",
                        "chitchat",
                        "not_awaited",
                        "not_understood",
                    ],
                },
            },
        },
        "ConsentChange": {
            "type": "object",
            "required": ["granted"],
            "properties": {
                "scope": {"enum": [s.value for s in ConsentScope]},
                "scopes": {"type": "array", "items": {"enum": [s.value for s in ConsentScope]}},
                "granted": {"type": "boolean"},
            },
            "description": "channel (the calling device's kind) and notice_version (the current "
            "notice) are decided by the server",
        },
        "Consents": {
            "type": "object",
            "properties": {
                "scopes": {"type": "array", "items": {"type": "object"}},
                "history": {"type": "array"},
            },
        },
        "Offer": {
            "type": "object",
            "properties": {
                "offer_id": {"type": "integer"},
                "kind": {"type": "string"},
                "explanation": {"type": "string"},
            },
        },
        "Health": {
            "type": "object",
            "properties": {
                "status": {"enum": ["ok", "degraded", "down"]},
                "components": {"type": "object"},
                "bundle": {"type": ["object", "null"], "description": "active bundle (docs/bundles.md)"},
            },
        },
    }


_ADMIN_ERRORS = (401, 403, 429, 503)


def _admin_paths() -> dict[str, Any]:
    """``/api/v1/admin/*``: a tenant's admin token only (see docs/manufacturers.md)."""
    obj = _json({"type": "object"})
    rejected = _json(_ref("Error"), "catalog rejected, nothing imported; `problems`: one reason per row")
    kind = {"name": "kind", "in": "query", "required": False, "schema": {"type": "string"}}
    ids = {
        name: {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
        for name in ("household_id", "device_id")
    }
    catalog_body = {
        "required": True,
        "content": {JSON: {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}},
    }
    return {
        "/api/v1/admin/catalog": {
            "post": _op(
                "Import catalog and plans (JSON, or CSV rows of ?kind=), all or nothing",
                {"200": obj, "422": rejected, **_errors(400, 408, 413, 415, *_ADMIN_ERRORS)},
                security=_AUTH,
                parameters=[kind],
                requestBody=catalog_body,
            )
        },
        "/api/v1/admin/devices": {
            "get": _op(
                "Devices counted by category, brand, grade, age band",
                {"200": obj, **_errors(*_ADMIN_ERRORS)},
                security=_AUTH,
            )
        },
        "/api/v1/admin/complaints": {
            "get": _op(
                "Complaint and service tickets of the tenant",
                {"200": obj, **_errors(*_ADMIN_ERRORS)},
                security=_AUTH,
            )
        },
        "/api/v1/admin/offers": {
            "get": _op(
                "Offers counted by kind, state, day", {"200": obj, **_errors(*_ADMIN_ERRORS)}, security=_AUTH
            )
        },
        "/api/v1/admin/households/{household_id}/export": {
            "get": _op(
                "Consent ledger and offer audit of one household (regulator request)",
                {"200": obj, **_errors(400, 404, *_ADMIN_ERRORS)},
                security=_AUTH,
                parameters=[ids["household_id"]],
            )
        },
        "/api/v1/admin/devices/{device_id}/tokens/rotate": {
            "post": _op(
                "Revoke a device's tokens and issue a new one (returned once)",
                {"200": obj, **_errors(400, 404, *_ADMIN_ERRORS)},
                security=_AUTH,
                parameters=[ids["device_id"]],
            )
        },
    }


def _onboarding_paths() -> dict[str, Any]:
    """Households, devices, pairing, tokens and the hub's telemetry (CONTRACTS.md §5, docs/onboarding.md)."""
    obj = _json({"type": "object"})
    gone = {"description": "done, no body"}
    ids = {
        name: [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string" if name == "token_id" else "integer"},
            }
        ]
        for name in ("household_id", "device_id", "token_id")
    }
    errs = _errors(400, 404, 408, 413, 415, 422, *_ADMIN_ERRORS)
    admin = {"security": _AUTH}
    body = _body({"type": "object"})
    return {
        "/api/v1/admin/households": {
            "post": _op(
                "Create a household {name, region?, members?}",
                {"201": obj, **errs},
                requestBody=body,
                **admin,
            ),
            "get": _op("The tenant's households", {"200": obj, **_errors(*_ADMIN_ERRORS)}, **admin),
        },
        "/api/v1/admin/households/{household_id}": {
            "patch": _op(
                "Change name or members",
                {"200": obj, **errs},
                parameters=ids["household_id"],
                requestBody=body,
                **admin,
            ),
            "delete": _op(
                "Erase the household's data (as 删除我的数据) and the household",
                {"200": obj, **_errors(400, 404, *_ADMIN_ERRORS)},
                parameters=ids["household_id"],
                **admin,
            ),
        },
        "/api/v1/admin/households/{household_id}/devices": {
            "post": _op(
                "Add a device; speaker, panel and hub get a pairing {code, expires_at, qr_svg}",
                {"201": obj, **errs},
                parameters=ids["household_id"],
                requestBody=body,
                **admin,
            ),
            "get": _op(
                "A household's devices",
                {"200": obj, **_errors(400, 404, *_ADMIN_ERRORS)},
                parameters=ids["household_id"],
                **admin,
            ),
        },
        "/api/v1/admin/devices/{device_id}": {
            "patch": _op(
                "Change a device",
                {"200": obj, **errs},
                parameters=ids["device_id"],
                requestBody=body,
                **admin,
            ),
            "delete": _op(
                "Delete a device and its data and credentials",
                {"204": gone, **_errors(400, 404, *_ADMIN_ERRORS)},
                parameters=ids["device_id"],
                **admin,
            ),
        },
        "/api/v1/admin/devices/{device_id}/pairing": {
            "post": _op(
                "A new pairing code (earlier unused ones stop working)",
                {"201": obj, **_errors(400, 404, 409, *_ADMIN_ERRORS)},
                parameters=ids["device_id"],
                **admin,
            ),
        },
        "/api/v1/admin/devices/{device_id}/tokens": {
            "delete": _op(
                "Revoke the device's tokens at once",
                {"204": gone, **_errors(400, 404, *_ADMIN_ERRORS)},
                parameters=ids["device_id"],
                **admin,
            ),
        },
        "/api/v1/admin/tokens": {
            "get": _op(
                "The tenant's tokens without secrets", {"200": obj, **_errors(*_ADMIN_ERRORS)}, **admin
            ),
        },
        "/api/v1/admin/tokens/{token_id}": {
            "delete": _op(
                "Revoke one token by its public id",
                {"204": gone, **_errors(404, *_ADMIN_ERRORS)},
                parameters=ids["token_id"],
                **admin,
            ),
        },
        "/api/v1/pair": {
            "post": _op(
                "Exchange a pairing code once for the device's token (no token needed)",
                {"201": obj, **_errors(400, 404, 408, 409, 410, 413, 415, 429, 503)},
                requestBody=_body(
                    {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}}
                ),
            )
        },
        "/api/v1/telemetry": {
            "post": _op(
                "A hub's readings {format, payload} for its own household's devices",
                {"200": obj, **_errors(400, 401, 403, 408, 413, 415, 422, 429, 503)},
                security=_AUTH,
                requestBody=body,
            )
        },
    }


_STUDIO_ERRORS = (401, 403, 429, 503)


def _studio_paths() -> dict[str, Any]:
    """``/studio`` and ``/api/v1/studio/*``: a designer token, within its tenant (docs/designing.md)."""
    obj = _json({"type": "object"})
    body = _body({"type": "object"})
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    job = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    writes = _errors(400, 404, 408, 415, *_STUDIO_ERRORS)

    def op(summary: str, status: str = "200", **extra: Any) -> Schema:
        errors = writes if "requestBody" in extra else _errors(404, *_STUDIO_ERRORS)
        return _op(summary, {status: obj, **errors}, security=_AUTH, **extra)

    return {
        "/studio": {"get": _op("The designer studio page", {"200": {"description": "HTML"}})},
        "/studio/{name}": {
            "get": _op(
                "Studio assets (ES modules, CSS)",
                {"200": {"description": "asset"}, **_errors(404)},
                parameters=[name],
            )
        },
        "/api/v1/studio/try": {
            "post": op(
                "NLU view of an utterance and the sandbox's answer `{text, household?}`", requestBody=body
            )
        },
        "/api/v1/studio/try/audio": {
            "post": op(
                "A spoken try: a WAV body (`?household=`) → `transcript`, then as a typed try",
                requestBody={"required": True, "content": {"audio/wav": {"schema": {"type": "string"}}}},
            )
        },
        "/api/v1/studio/sandbox": {
            "post": op("A fresh sandbox copy of a demo household `{household?}`", "201", requestBody=body)
        },
        "/api/v1/studio/catalog": {"get": op("The tenant's catalog words and sandbox households")},
        "/api/v1/studio/responses": {
            "get": op("Every response with variations, values, rule problems, diff")
        },
        "/api/v1/studio/responses/check": {
            "post": op("Wording rules for `{name, variations}` (免息, ≤ 60 characters)", requestBody=body)
        },
        "/api/v1/studio/responses/{name}": {
            "put": op(
                "Save `{variations}` to the working copy; returns problems and diff",
                parameters=[name],
                requestBody=body,
            )
        },
        "/api/v1/studio/training": {
            "get": op("Examples per intent, duplicates, held-out overlap"),
            "post": op("Add `{intent, text}` to the working copy", "201", requestBody=body),
        },
        "/api/v1/studio/flows": {"get": op("Rules and stories as a graph, unused names, last sandbox path")},
        "/api/v1/studio/checks": {
            "post": op(
                "Start a check `{kind: conversations|validate|heldout|train, yaml?}`; poll its job",
                "202",
                requestBody=body,
            )
        },
        "/api/v1/studio/checks/{job_id}": {
            "get": op("Progress and results of a check job", parameters=[job])
        },
    }


_TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
_PHONE_VIEW = {
    "type": "object",
    "description": "The application behind the link: state, terms, apr, apr_text",
}


def _journey_paths() -> dict[str, Any]:
    """The application journey (issue 16): the household's list and events, the phone page, partners."""
    me = {"security": _AUTH}
    obj = {"type": "object"}
    phone_errors = _errors(404, 409, 410, 429, 503)
    return {
        "/api/v1/me/applications": {
            "get": _op(
                "The household's applications: state, audited terms, partner, expiry, history",
                {"200": _json({"type": "object", "properties": {"applications": {"type": "array"}}})}
                | _errors(*_ME_ERRORS),
                **me,
            )
        },
        "/api/v1/me/events": {
            "get": _op(
                "Household event stream (text/event-stream; Last-Event-ID or ?after= catches up)",
                {"200": {"description": "server-sent events"}, **_errors(400, *_ME_ERRORS)},
                **me,
            )
        },
        "/phone/{token}": {
            "get": _op(
                "The phone page of a single-use link", {"200": {"description": "HTML"}}, parameters=[_TOKEN]
            )
        },
        "/api/v1/phone/{token}": {
            "get": _op(
                "The application behind a phone link",
                {"200": _json(_PHONE_VIEW), **phone_errors},
                parameters=[_TOKEN],
            )
        },
        "/api/v1/phone/{token}/confirm": {
            "post": _op(
                "Confirm on the phone (uses the link)",
                {"200": _json(_PHONE_VIEW), **phone_errors},
                parameters=[_TOKEN],
            )
        },
        "/api/v1/phone/{token}/cancel": {
            "post": _op(
                "Cancel on the phone (uses the link)",
                {"200": _json(_PHONE_VIEW), **phone_errors},
                parameters=[_TOKEN],
            )
        },
        "/api/v1/partners/{partner}/decisions": {
            "post": _op(
                "A partner's decision, HMAC-signed in X-Signature (t=<unix>,v1=<hex>)",
                {"200": _json(obj), **_errors(400, 401, 403, 404, 413, 503)},
                parameters=[
                    {"name": "partner", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["application_id", "decision", "idempotency_key"],
                        "properties": {
                            "application_id": {"type": "integer"},
                            "decision": {"enum": ["approved", "declined", "disbursed"]},
                            "reason": {"type": "string"},
                            "idempotency_key": {"type": "string"},
                        },
                    }
                ),
            )
        },
        "/api/v1/admin/applications": {
            "get": _op(
                "A tenant's applications and deliveries per state, with delivery errors",
                {"200": _json(obj), **_errors(*_ADMIN_ERRORS)},
                **me,
            )
        },
    }


def description() -> dict[str, Any]:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "家居金融语音助手 gateway", "version": "1"},
        "paths": {
            **_paths(),
            **_admin_paths(),
            **_onboarding_paths(),
            **_studio_paths(),
            **_journey_paths(),
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "device token"}
            },
        },
    }


@table.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """Serve the description."""
    return web.json_response(description())
