curl -X POST 'http://localhost:3000/your_moms/api-v2/instances/123/verify' \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>'
