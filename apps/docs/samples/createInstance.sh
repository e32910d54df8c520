curl -X POST 'http://localhost:3000/your_moms/api-v2/instances' \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>' \
  -H 'Content-Type: application/json' \
  -H 'Idempotency-Key: 7f1f7a36-7c2e-4f4e-9d8c-2d5b1c1e6a10' \
  -d '{"your_mom": {"key": "freshservice"},
       "configuration": {"username": "agent@example.com", "password": "s3cret", "subdomain": "acme"},
       "tags": ["helpdesk"], "name": "Help desk"}'
