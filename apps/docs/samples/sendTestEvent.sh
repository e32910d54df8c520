API=http://127.0.0.1:3000/your_moms/api-v2
curl -s -X POST "$API/instances/123/events/test" \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>'
