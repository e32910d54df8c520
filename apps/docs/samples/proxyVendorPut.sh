API=http://127.0.0.1:3000/your_moms/api-v2
curl -s -X PUT "$API/instances/123/proxy/Contacts/9b1e" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>' \
  -H 'Content-Type: application/json' \
  -d '{"title": "Engineer"}'
