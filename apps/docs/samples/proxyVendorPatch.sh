API=http://127.0.0.1:3000/your_moms/api-v2
curl -s -X PATCH "$API/instances/123/proxy/tickets/42" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>' \
  -H 'Content-Type: application/json' \
  -d '{"status": 4}'
