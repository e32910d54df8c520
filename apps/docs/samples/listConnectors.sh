curl 'http://localhost:3000/your_moms/api-v2/your_moms' \
  -H 'Authorization: User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>'
