API=http://127.0.0.1:3000/your_moms/api-v2
# One new Idempotency-Key per instance you mean to create: a retry with the same key and body
# makes no second instance; a changed body needs a new key.
IDEMPOTENCY_KEY=$(node -e "console.log(crypto.randomUUID())")
curl -s -X POST "$API/instances" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>' \
  -H 'Content-Type: application/json' \
  -H "Idempotency-Key: $IDEMPOTENCY_KEY" \
  -d '{"your_mom": {"key": "freshservice"},
       "configuration": {"username": "agent@example.com", "password": "s3cret", "subdomain": "acme"},
       "tags": ["helpdesk"], "name": "Help desk"}'
