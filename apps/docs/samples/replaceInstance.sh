API=http://127.0.0.1:3000/your_moms/api-v2
curl -s -X PUT "$API/instances/123" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>' \
  -H 'Content-Type: application/json' \
  -d '{"your_mom": {"key": "freshservice"},
       "configuration": {"username": "agent@example.com", "password": "s3cret", "subdomain": "acme"},
       "tags": ["helpdesk", "production"], "name": "Help desk"}'
