curl -X PATCH 'http://localhost:3000/your_moms/api-v2/instances/123' \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>' \
  -H 'Content-Type: application/json' \
  -H 'If-Match: "3"' \
  -d '{"name": "Help desk (production)", "configuration": {"password": "n3w-Passw0rd"}}'
