API=http://127.0.0.1:3000/your_moms/api-v2
curl -s -X PATCH "$API/instances/123" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>' \
  -H 'Content-Type: application/json' \
  -H 'If-Match: "3"' \
  -d '{"name": "Help desk (production)", "configuration": {"password": "n3w-Passw0rd"}}'
